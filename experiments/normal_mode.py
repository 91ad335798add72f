"""NORMAL mode in OVS: the switch learns MACs only from the frames it forwards.

Reproduces steps 1 to 5 of the blog post "NORMAL mode in OVS - MAC learning": one switch,
three hosts (`mn --topo=single,3 --controller=none --mac`), no controller and no flows.
"""
from harness import Experiment, Parameter, SingleSwitch


class NormalMode(Experiment):
    """NORMAL mode in OVS: the switch learns MACs only from the frames it forwards."""

    hosts = Parameter(int, 3, "hosts on the switch; h1 pings h2, the others stay silent",
                      minimum=3, maximum=254)
    count = Parameter(int, 2, "echo requests per ping", minimum=1, maximum=100)
    static_arp = Parameter(bool, False, "give every host every other host's MAC, so no ARP is sent")

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)

    def silent_hosts(self):
        return [f"h{index}" for index in range(3, self.hosts + 1)]

    def run(self, lab):
        if self.static_arp:
            lab.static_arp()

        with lab.step("build"):
            lab.check.mac_table_empty("s1", why="nobody has sent anything yet")
            lab.check.flow_table_empty("s1", why="no controller and no flows were added")

        with lab.step("ping without flows"):
            lab.ping("h1", "h2", count=self.count)
            lab.check.ping_loss("h1", "h2", percent=100,
                                why="with no flows the switch drops every frame")

        with lab.step("add NORMAL flow"):
            lab.flows.add("s1", "action=normal")
            lab.check.flow_actions("s1", ["NORMAL"], why="one flow: send everything to NORMAL")
            lab.check.mac_table_empty("s1", why="a flow alone teaches the switch nothing")

        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=self.count)
            lab.check.ping_loss("h1", "h2", percent=0, why="NORMAL forwards like an L2 switch")
            lab.check.mac_learned("s1", "h1", port=1, why="h1's frames came in on port 1")
            lab.check.mac_learned("s1", "h2", port=2, why="h2's replies came in on port 2")
            for host in self.silent_hosts():
                lab.check.mac_not_learned("s1", host, why=f"{host} sent nothing, so it is not learned")
            arp = "no ARP: static entries" if self.static_arp else (
                "h1's ARP request, h2's ARP reply, and h2 confirming h1's MAC a second later "
                "(a unicast ARP request and h1's reply)")
            lab.check.flow_packets("s1", 2 * self.count + (0 if self.static_arp else 4),
                                   actions="NORMAL",
                                   why=f"{self.count} echo requests, {self.count} replies; {arp}")
            lab.check.flows_count_every_frame("s1")
