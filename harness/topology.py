"""Topologies experiments declare; each builds the matching Mininet Topo when a run starts."""


class SingleSwitch:
    """One switch, s1, with hosts h1..hN on its ports 1..N (Mininet's `--topo=single,N`).

    With the harness's fixed MACs, host i has MAC 00:00:00:00:00:0i and IP 10.0.0.i."""

    def __init__(self, hosts=3):
        self.hosts = hosts

    def build(self):
        """Return the Mininet Topo."""
        from mininet.topo import SingleSwitchTopo
        return SingleSwitchTopo(k=self.hosts)

    def __str__(self):
        return f"single switch, {self.hosts} hosts"
