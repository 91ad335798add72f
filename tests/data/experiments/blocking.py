"""A run that blocks in a long ping, for tests that interrupt or kill it.

It creates the file named by $HARNESS_TEST_READY once the network is up and the ping is
about to start, so a test knows when to send its signal. With steps_before=N, N short
steps come first."""
import os
from pathlib import Path

from harness import Container, Experiment, Parameter, SingleSwitch


class Blocking(Experiment):
    """Pings for ten minutes unless interrupted."""

    hosts = Parameter(int, 2, "hosts on the switch", minimum=2, maximum=254)
    steps_before = Parameter(int, 0, "short steps before the long ping", minimum=0, maximum=5)
    hosts_as = Parameter(str, "namespace", "namespace or container", choices=("namespace", "container"))

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts, containers=Container() if self.hosts_as == "container" else None)

    def run(self, lab):
        for number in range(1, self.steps_before + 1):
            with lab.step(f"warm-up {number}"):
                lab.check.flow_table_empty("s1")
        with lab.step("long ping"):
            lab.flows.add("s1", "action=normal")
            if not lab.planning:     # the dry pass before the run must not signal
                Path(os.environ["HARNESS_TEST_READY"]).touch()
            lab.ping("h1", "h2", count=600)
