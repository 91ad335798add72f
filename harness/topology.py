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
