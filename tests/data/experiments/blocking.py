"""A run that blocks in a long ping, for tests that interrupt or kill it.

It creates the file named by $HARNESS_TEST_READY once the network is up and the ping is
about to start, so a test knows when to send its signal. With steps_before=N, N short
steps come first; with captures, h2 and the port of h2's switch toward h1 are captured (the
port through an OVS mirror), so that a tcpdump and a mirror port are running too. With
ovs_nodes, two OVS nodes, n1 and n2, are there too, linked to each other (a bridge each, as
NORMAL), so that OVS nodes' daemons are running too."""
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
    ovs_nodes = Parameter(bool, False, "also OVS nodes n1 and n2, linked to each other")

    @property
    def topology(self):
        containers = Container() if self.hosts_as == "container" else None
        if self.ovs_nodes:      # the switches' links, as Linear and SingleSwitch make them, and the nodes'
            hosts = [f"h{number}" for number in range(1, (2 if self.switches == 2 else self.hosts) + 1)]
            links = [Link("h1", "s1"), Link("h2", "s2"), Link("s2", "s1")] if self.switches == 2 else \
                [Link(host, "s1") for host in hosts]
            return Topology(switches=[f"s{number}" for number in range(1, self.switches + 1)], ovs_nodes=["n1", "n2"],
                            links=[*links, Link("n1", "n2")],
                            containers={host: containers for host in hosts} if containers else None)
        if self.switches == 2:
            return Linear(switches=2, containers=containers)
        return SingleSwitch(hosts=self.hosts, containers=containers)

    def run(self, lab):
        for number in range(1, self.steps_before + 1):
            with lab.step(f"warm-up {number}"):
                lab.check.flow_table_empty("s1")
        with lab.step("long ping"):
            for node in ("n1", "n2") if self.ovs_nodes else ():
                lab.add_port(lab.add_bridge(node, "br0", fail_mode="standalone"), f"{node}-eth0")
            for switch in lab.network.switches():
                lab.flows.add(switch, "action=normal")
            if self.captures:
                lab.capture("h2")
                switch, _port = lab.network.attachment("h2")
                lab.capture(switch, lab.network.port_toward(switch, "h1"), via="mirror")
            if not lab.planning:     # the dry pass before the run must not signal
                Path(os.environ["HARNESS_TEST_READY"]).touch()
            lab.ping("h1", "h2", count=600)
