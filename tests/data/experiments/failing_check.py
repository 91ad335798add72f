"""A run whose check fails: it expects h3 to be learned although h3 sends nothing."""
from harness import Experiment, SingleSwitch


class ExpectsH3Learned(Experiment):
    """Expects the switch to learn h3 from h1 ping h2 (wrong: h3 sends nothing)."""

    topology = SingleSwitch(hosts=3)

    def run(self, lab):
        with lab.step("h1 ping h2"):
            lab.flows.add("s1", "action=normal")
            lab.ping("h1", "h2", count=1)
            lab.check.mac_learned("s1", "h1", port=1)
            lab.check.mac_learned("s1", "h3", port=3)
