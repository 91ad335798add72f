"""An experiment with a typo in a check's name, as a user might write it."""
from harness import Experiment, SingleSwitch


class MisspeltCheck(Experiment):
    """A typo in a check's name."""

    topology = SingleSwitch(hosts=3)

    def run(self, lab):
        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=1)
            lab.check.ping_los("h1", "h2", percent=0)
