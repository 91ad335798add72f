"""A run whose flow the switch rejects only when it arrives as a FlowMod (output to port 65535, outside OpenFlow 1.3's port range)."""
from harness import Experiment, SingleSwitch


class BadPort(Experiment):
    """Sends a flow with an invalid output port."""

    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        with lab.step("bad port"):
            lab.flows.add("s1", "priority=10,actions=output:65535")
