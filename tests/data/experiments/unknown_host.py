"""An experiment that pings a host its topology does not have."""
from harness import Experiment, SingleSwitch


class UnknownHost(Experiment):
    """Pings h5 on a three-host switch."""

    topology = SingleSwitch(hosts=3)

    def run(self, lab):
        with lab.step("add NORMAL flow"):
            lab.flows.add("s1", "action=normal")
            lab.check.flow_actions("s1", ["NORMAL"])
        with lab.step("h1 ping h5"):
            lab.ping("h1", "h5", count=1)
