"""NORMAL mode in OVS: the switch learns MACs only from the frames it forwards.

Reproduces steps 1 to 5 of the blog post "NORMAL mode in OVS - MAC learning": one switch,
three hosts (`mn --topo=single,3 --controller=none --mac`), no controller and no flows.
"""
from harness import Experiment, SingleSwitch


class NormalMode(Experiment):
    """NORMAL mode in OVS: the switch learns MACs only from the frames it forwards."""

    topology = SingleSwitch(hosts=3)

    def run(self, lab):
        with lab.step("build"):
            lab.check.mac_table_empty("s1", why="nobody has sent anything yet")
            lab.check.flow_table_empty("s1", why="no controller and no flows were added")

        with lab.step("ping without flows"):
            lab.ping("h1", "h2", count=2)
            lab.check.ping_loss("h1", "h2", percent=100,
                                why="with no flows the switch drops every frame")

        with lab.step("add NORMAL flow"):
            lab.flows.add("s1", "action=normal")
            lab.check.flow_actions("s1", ["NORMAL"], why="one flow: send everything to NORMAL")
            lab.check.mac_table_empty("s1", why="a flow alone teaches the switch nothing")

        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=2)
            lab.check.ping_loss("h1", "h2", percent=0, why="NORMAL forwards like an L2 switch")
            lab.check.mac_learned("s1", "h1", port=1, why="h1's frames came in on port 1")
            lab.check.mac_learned("s1", "h2", port=2, why="h2's replies came in on port 2")
            lab.check.mac_not_learned("s1", "h3", why="h3 sent nothing, so it is not learned")
