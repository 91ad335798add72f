"""Benchmark experiment: build one switch with N hosts, verify every port, tear it down."""
from harness import Experiment, Parameter, SingleSwitch


class BuildOnly(Experiment):
    """Build and tear down a single switch with N hosts; nothing is sent."""

    hosts = Parameter(int, 8, "hosts on the switch", minimum=1, maximum=254)

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)

    def run(self, lab):
        with lab.step("build"):
            lab.check.mac_table_empty("s1", why="nothing has been sent")
