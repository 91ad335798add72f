"""An experiment whose steps state no check: it verifies nothing, so it cannot pass."""
from harness import Experiment, SingleSwitch


class NoChecks(Experiment):
    """Pings, and checks nothing."""

    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        with lab.step("add NORMAL flow"):
            lab.flows.add("s1", "action=normal")
        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=1)
