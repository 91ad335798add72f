"""A run that blocks in a long ping, for tests that interrupt or kill it.

It creates the file named by $HARNESS_TEST_READY once the network is up and the ping is
about to start, so a test knows when to send its signal. With steps_before=N, N short
steps come first; with captures, h2 and the port of h2's switch toward h1 are captured (the
port through an OVS mirror), so that a tcpdump and a mirror port are running too. With
ovs_nodes, h1 and h2 are each behind an OVS node of its own (n1, n2: a bridge each, as
NORMAL), the nodes linked, so that OVS nodes' daemons are running too."""
import os
from pathlib import Path

from harness import Container, Experiment, Linear, Parameter, SingleSwitch
from harness.topology import Link, Topology


class Blocking(Experiment):
    """Pings for ten minutes unless interrupted."""

    hosts = Parameter(int, 2, "hosts on the switch", minimum=2, maximum=254)
    steps_before = Parameter(int, 0, "short steps before the long ping", minimum=0, maximum=5)
    hosts_as = Parameter(str, "namespace", "namespace or container", choices=("namespace", "container"))
    switches = Parameter(int, 1, "switches: one, or a chain of two with a host each (h1 and h2 on "
                         "either end)", minimum=1, maximum=2)
    captures = Parameter(bool, False, "capture at h2, and at its switch's port toward h1 through a mirror")
    ovs_nodes = Parameter(bool, False, "h1 and h2 behind OVS nodes n1 and n2, linked, instead of switches")

    @property
    def topology(self):
        containers = Container() if self.hosts_as == "container" else None
        if self.ovs_nodes:
            return Topology(switches=[], ovs_nodes=["n1", "n2"],
                            links=[Link("h1", "n1"), Link("h2", "n2"), Link("n1", "n2")])
        if self.switches == 2:
            return Linear(switches=2, containers=containers)
        return SingleSwitch(hosts=self.hosts, containers=containers)

    def run(self, lab):
        for number in range(1, self.steps_before + 1):
            with lab.step(f"warm-up {number}"):
                lab.check.flow_table_empty("s1")
        with lab.step("long ping"):
            for node in ("n1", "n2") if self.ovs_nodes else ():
                bridge = lab.add_bridge(node, "br0", fail_mode="standalone")
                for port in (f"{node}-eth0", f"{node}-eth1"):
                    lab.add_port(bridge, port)
            for switch in lab.network.switches():
                lab.flows.add(switch, "action=normal")
            if self.captures:
                lab.capture("h2")
                switch, _port = lab.network.attachment("h2")
                lab.capture(switch, lab.network.port_toward(switch, "h1"), via="mirror")
            if not lab.planning:     # the dry pass before the run must not signal
                Path(os.environ["HARNESS_TEST_READY"]).touch()
            lab.ping("h1", "h2", count=600)
