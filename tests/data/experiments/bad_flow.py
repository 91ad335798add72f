"""A run whose flow ovs-ofctl rejects."""
from harness import Experiment, SingleSwitch


class BadFlow(Experiment):
    """Adds a flow with an unknown action."""

    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        with lab.step("bad flow"):
            lab.flows.add("s1", "actions=teleport")
