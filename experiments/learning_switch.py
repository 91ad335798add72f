"""A reactive learning switch on the controller: the Ryu app (simple_switch_13 style, on
os-ken) learns MACs from the frames sent to it and installs a flow per destination it knows;
OVS itself learns nothing. Same topology and traffic as normal_mode, so its MAC table can be
set against what NORMAL learns there: h1 on port 1, h2 on port 2, no silent host.
"""
from harness import Experiment, Parameter, SingleSwitch


class LearningSwitch(Experiment):
    """A reactive learning switch on the controller: the app, not OVS, learns the MACs."""

    controller_app = "controllers.learning_switch"
    hosts = Parameter(int, 3, "hosts on the switch; h1 pings h2, the others stay silent",
                      minimum=3, maximum=254)
    count = Parameter(int, 2, "echo requests per ping", minimum=2, maximum=100)
    interval_ms = Parameter(int, 1000, "milliseconds between echo requests (ping -i); ARP sends the same "
                            "frames whatever it is", minimum=200, maximum=1000)

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)

    def run(self, lab):
        mac, port = lab.network.mac, lab.network.port_of
        to_h1 = f"in_port={port('h2', 's1')},dl_src={mac('h2')},dl_dst={mac('h1')}"
        to_h2 = f"in_port={port('h1', 's1')},dl_src={mac('h1')},dl_dst={mac('h2')}"

        with lab.step("build"):
            lab.check.flow_actions("s1", ["CONTROLLER:65535"],
                                   why="the app's table-miss flow: frames no flow matches go to the app")
            lab.check.controller_counted("flows_installed", 1, why="the table-miss flow")
            lab.check.mac_table_empty("s1", by="controller", why="nobody has sent anything yet")

        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=self.count, interval=self.interval_ms / 1000)
            lab.check.ping_loss("h1", "h2", percent=0)
            lab.check.mac_learned("s1", "h1", port=1, by="controller", why="as NORMAL learns it in normal_mode")
            lab.check.mac_learned("s1", "h2", port=2, by="controller", why="as NORMAL learns it in normal_mode")
            for host in [f"h{index}" for index in range(3, self.hosts + 1)]:
                lab.check.mac_not_learned("s1", host, by="controller", why=f"{host} sent nothing, as in normal_mode")
            lab.check.mac_table_empty("s1", why="no NORMAL flow, so OVS itself learns nothing")
            lab.check.controller_counted("packet_ins", 3, why=(
                "h1's broadcast ARP request (flooded), h2's ARP reply (the app installs h2 > h1) "
                "and h1's first echo request (the app installs h1 > h2); every later frame matches those flows"))
            lab.check.controller_counted("flows_installed", 2, why="h2 > h1 and h1 > h2")
            lab.check.flow_packets("s1", 3, priority=0, why="the 3 frames sent to the app")
            lab.check.flow_packets("s1", self.count + 1, priority=1, match=to_h1,
                                   why=f"h2's {self.count} echo replies, and h2's unicast ARP request confirming h1")
            lab.check.flow_packets("s1", self.count, priority=1, match=to_h2,
                                   why=f"h1's echo requests after the first ({self.count - 1}), and h1's ARP reply to h2")
            lab.check.flows_count_every_frame("s1")

        with lab.step("h1 ping h2 again"):
            lab.ping("h1", "h2", count=self.count, interval=self.interval_ms / 1000)
            lab.check.ping_loss("h1", "h2", percent=0)
            lab.check.controller_counted("packet_ins", 0, why="the installed flows forward everything now")
            lab.check.controller_counted("flows_installed", 0)
            lab.check.flow_packets("s1", self.count, priority=1, match=to_h1, why=f"h2's {self.count} echo replies")
            lab.check.flow_packets("s1", self.count, priority=1, match=to_h2, why=f"h1's {self.count} echo requests")
