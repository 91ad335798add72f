"""Topologies experiments declare; each builds the matching Mininet Topo when a run starts."""
import re

from .errors import HarnessError


class SingleSwitch:
    """One switch, s1, with hosts h1..hN on its ports 1..N (Mininet's `--topo=single,N`).

    With the harness's fixed MACs, host i has MAC 00:00:00:00:00:0i and IP 10.0.0.i."""

    def __init__(self, hosts=3):
        self.hosts = hosts

    def build(self):
        """Return the Mininet Topo."""
        from mininet.topo import SingleSwitchTopo
        return SingleSwitchTopo(k=self.hosts)

    def _index(self, host):
        found = re.fullmatch(r"h(\d+)", host)
        if not found or not 1 <= int(found[1]) <= self.hosts:
            raise HarnessError(f"no host {host!r} in a single switch with {self.hosts} hosts")
        return int(found[1])

    def port(self, host):
        """Return the switch port `host` is on."""
        return self._index(host)

    def mac(self, host):
        """Return `host`'s MAC address, as Mininet's autoSetMacs gives it."""
        index = self._index(host)
        return ":".join(f"{(index >> shift) & 0xff:02x}" for shift in range(40, -8, -8))

    def __str__(self):
        return f"single switch, {self.hosts} hosts"


class Linear:
    """A chain of switches s1..sK, each with `hosts_per_switch` hosts (Mininet's
    `--topo=linear,K,N`); hosts are h1..hK, or h1s1, h2s1, ... with several per switch."""

    def __init__(self, switches=2, hosts_per_switch=1):
        self.switches = switches
        self.hosts_per_switch = hosts_per_switch

    def build(self):
        """Return the Mininet Topo."""
        from mininet.topo import LinearTopo
        return LinearTopo(k=self.switches, n=self.hosts_per_switch)

    def __str__(self):
        return f"linear, {self.switches} switches, {self.hosts_per_switch} host(s) each"


class Tree:
    """A tree of switches `depth` levels deep, each with `fanout` children; the leaves'
    children are hosts h1..h(fanout**depth) (Mininet's `--topo=tree,depth,fanout`)."""

    def __init__(self, depth=2, fanout=2):
        self.depth = depth
        self.fanout = fanout

    def build(self):
        """Return the Mininet Topo."""
        from mininet.topolib import TreeTopo
        return TreeTopo(depth=self.depth, fanout=self.fanout)

    def __str__(self):
        return f"tree, depth {self.depth}, fanout {self.fanout}"
