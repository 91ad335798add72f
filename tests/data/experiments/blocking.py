"""A run that blocks in a long ping, for tests that interrupt or kill it.

It creates the file named by $HARNESS_TEST_READY once the network is up and the ping is
about to start, so a test knows when to send its signal. With steps_before=N, N short
steps come first."""
import os
from pathlib import Path

from harness import Container, Experiment, Linear, Parameter, SingleSwitch


class Blocking(Experiment):
    """Pings for ten minutes unless interrupted."""

    hosts = Parameter(int, 2, "hosts on the switch", minimum=2, maximum=254)
    steps_before = Parameter(int, 0, "short steps before the long ping", minimum=0, maximum=5)
    hosts_as = Parameter(str, "namespace", "namespace or container", choices=("namespace", "container"))
    switches = Parameter(int, 1, "switches: one, or a chain of two with a host each (h1 and h2 on "
                         "either end)", minimum=1, maximum=2)

    @property
    def topology(self):
        containers = Container() if self.hosts_as == "container" else None
        if self.switches == 2:
            return Linear(switches=2, containers=containers)
        return SingleSwitch(hosts=self.hosts, containers=containers)

    def run(self, lab):
        for number in range(1, self.steps_before + 1):
            with lab.step(f"warm-up {number}"):
                lab.check.flow_table_empty("s1")
        with lab.step("long ping"):
            for switch in lab.network.switches():
                lab.flows.add(switch, "action=normal")
            if not lab.planning:     # the dry pass before the run must not signal
                Path(os.environ["HARNESS_TEST_READY"]).touch()
            lab.ping("h1", "h2", count=600)
