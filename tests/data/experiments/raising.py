"""A run whose experiment code fails in its second step."""
from harness import Experiment, SingleSwitch


class Raising(Experiment):
    """Raises RuntimeError in its second step."""

    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        with lab.step("first"):
            lab.check.flow_table_empty("s1")
        with lab.step("second"):
            if not lab.planning:    # a bug that shows only on a real network
                raise RuntimeError("the experiment's own bug")
