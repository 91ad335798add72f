"""Unknown unicast: NORMAL floods a frame to a MAC it has not learned, and stops once it has.

ovs-vswitchd.conf.db(5), Bridge table, mac-aging-time: NORMAL forwards a frame to the port it
learned the destination MAC on, and floods it "unnecessarily" to every other port while the
MAC is unknown. Packet captures on the silent hosts prove where the frames did and did not
arrive: the first echo request to h2 reaches h3 and h4 too; once h2 has answered, none does.

Every host has static ARP entries: with ARP, h1's broadcast request and h2's reply would
teach the switch both MACs before the first echo request, and nothing unicast would ever be
unknown.
"""
from harness import Experiment, Parameter, SingleSwitch


class UnknownUnicastFlood(Experiment):
    """Unknown unicast: NORMAL floods a frame to an unlearned MAC, and stops once it has learned it."""

    hosts = Parameter(int, 4, "hosts on the switch; h1 pings h2, the others only listen", minimum=3, maximum=16)
    count = Parameter(int, 3, "echo requests of the second ping, once h2 is known", minimum=1, maximum=20)

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)

    def run(self, lab):
        listeners = [host for host in lab.network.hosts() if host not in ("h1", "h2")]
        lab.flows.add("s1", "action=normal")
        lab.static_arp()
        for host in ["h2", *listeners]:
            lab.capture(host)

        with lab.step("first echo request to an unknown MAC"):
            lab.ping("h1", "h2", count=1)
            lab.check.ping_loss("h1", "h2", percent=0)
            lab.check.frames_seen("h2", 1, kind="echo request", src="h1", dst="h2")
            for host in listeners:
                lab.check.frames_seen(host, 1, kind="echo request", src="h1", dst="h2",
                                      why="s1 had not learned h2's MAC: NORMAL floods the frame to every port "
                                          "but the one it came in by")
                lab.check.frames_not_seen(host, kind="echo reply",
                                          why="the request taught s1 where h1 is: the reply goes to port 1 only")
            lab.check.mac_learned("s1", "h2", port=2, why="h2's reply taught s1 where h2 is")

        with lab.step("echo requests to a learned MAC"):
            lab.ping("h1", "h2", count=self.count, interval=0.2)
            lab.check.ping_loss("h1", "h2", percent=0)
            lab.check.frames_seen("h2", self.count, kind="echo request", src="h1", dst="h2")
            for host in listeners:
                lab.check.frames_not_seen(host, src="h1",
                                          why="s1 knows h2 is on port 2: it sends h1's frames there only")
