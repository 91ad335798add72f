"""MAC aging: NORMAL forgets a MAC no frame has refreshed for mac-aging-time seconds, and
floods frames to it again.

ovs-vswitchd.conf.db(5), Bridge table, other_config:mac-aging-time: "The maximum number of
seconds to retain a MAC learning entry for which no packets have been seen ... forced into
a reasonable range, currently 15 to 3600 seconds", with the warning that a short aging time
makes it "more likely that packets will be flooded unnecessarily, when they are addressed
to a connected host that rarely transmits packets". This experiment shows both halves: h2
falls silent, its entry goes within the bound, and the next frame to h2 reaches h3 too.

Hosts have static ARP entries, so nothing but the pings is sent: ARP's own confirmations
would refresh the entry.
"""
from harness import Experiment, Parameter, SingleSwitch


class MacAging(Experiment):
    """MAC aging: a silent host's entry expires after mac-aging-time, then frames to it flood again."""

    aging_s = Parameter(int, 15, "the bridge's mac-aging-time in seconds (OVS forces it to at least 15)",
                        minimum=15, maximum=30)
    topology = SingleSwitch(hosts=3)

    def run(self, lab):
        lab.flows.add("s1", "action=normal")
        lab.configure_bridge("s1", {"mac-aging-time": self.aging_s})
        lab.static_arp()
        lab.capture("h3")

        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=1)
            lab.check.ping_loss("h1", "h2", percent=0)
            lab.check.mac_learned("s1", "h2", port=2, why="h2's echo reply taught s1 where h2 is")

        with lab.step("h2 stays silent"):
            lifetime = lab.wait_until_forgotten("s1", "h2", timeout=self.aging_s + 5)
            lab.measure("h2's entry lifetime", lifetime, "s")
            lab.check.measured("h2's entry lifetime", between=(self.aging_s - 2, self.aging_s + 1),
                               why=f"mac-aging-time={self.aging_s}: an entry no frame refreshed goes after "
                                   f"{self.aging_s} s, counted on OVS's whole-second clock (up to 1 s early) "
                                   "and read from fdb/show's whole-second age (up to 1 s more)")
            lab.check.mac_not_learned("s1", "h2", why="the entry aged out")
            lab.check.frames_not_seen("h3", why="nobody sent anything while h2's entry aged")

        with lab.step("h1 ping h2 again"):
            lab.ping("h1", "h2", count=1)
            lab.check.ping_loss("h1", "h2", percent=0)
            lab.check.frames_seen("h3", 1, kind="echo request", src="h1", dst="h2",
                                  why="s1 forgot h2: the echo request to h2 is flooded again, to h3 too")
