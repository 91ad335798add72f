"""Topologies experiments declare; each builds the matching Mininet Topo when a run starts."""
import re

from .errors import HarnessError


class SingleSwitch:
    """One switch, s1, with hosts h1..hN on its ports 1..N (Mininet's `--topo=single,N`).

    With the harness's fixed MACs, host i has MAC 00:00:00:00:00:0i and IP 10.0.0.i."""

    def __init__(self, hosts=3):
        self.hosts = hosts

    @property
    def host_count(self):
        """The number of hosts."""
        return self.hosts

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

    @property
    def host_count(self):
        """The number of hosts."""
        return self.switches * self.hosts_per_switch

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

    @property
    def host_count(self):
        """The number of hosts."""
        return self.fanout ** self.depth

    def build(self):
        """Return the Mininet Topo."""
        from mininet.topolib import TreeTopo
        return TreeTopo(depth=self.depth, fanout=self.fanout)

    def __str__(self):
        return f"tree, depth {self.depth}, fanout {self.fanout}"


SHAPES = ("single", "linear", "tree")


def shaped(shape, *, hosts, switches, hosts_per_switch, depth, fanout):
    """Return the topology of shape "single" (one switch with `hosts` hosts), "linear"
    (`switches` switches with `hosts_per_switch` hosts each) or "tree" (`depth`, `fanout`),
    for experiments whose shape is a parameter."""
    if shape == "linear":
        return Linear(switches=switches, hosts_per_switch=hosts_per_switch)
    if shape == "tree":
        return Tree(depth=depth, fanout=fanout)
    return SingleSwitch(hosts=hosts)


class Wiring:
    """What is linked to what in a built Mininet Topo, answered without a running network:
    the questions experiments and checks ask (the port toward a host, the switches between
    two hosts). Network is a Wiring too, and `describe` plans on one."""

    def __init__(self, topo):
        self.topo = topo

    def switches(self):
        """Return the switch names, in topology order."""
        return list(self.topo.switches())

    def hosts(self):
        """Return the host names, in topology order."""
        return list(self.topo.hosts())

    def require_host(self, name):
        """Raise HarnessError unless the topology has a host called `name`."""
        if name not in self.topo.hosts():
            raise HarnessError(f"no host {name!r} in this topology (hosts: {_listed(self.hosts())})")

    def require_switch(self, name):
        """Raise HarnessError unless the topology has a switch called `name`."""
        if name not in self.topo.switches():
            raise HarnessError(f"no switch {name!r} in this topology (switches: {_listed(self.switches())})")

    def port_of(self, host, switch):
        """Return the OpenFlow port number of `switch` that `host` is linked to."""
        self.require_switch(switch)
        self.require_host(host)
        for port, (node, _node_port) in self.topo.ports[switch].items():
            if node == host:
                return port
        raise HarnessError(f"{host} is not linked to {switch}")

    def port_toward(self, switch, host):
        """Return the port of `switch` that frames to `host` leave by."""
        for port, (neighbour, _neighbour_port) in sorted(self.topo.ports[switch].items()):
            if host in self._reachable(neighbour, without=switch):
                return port
        raise HarnessError(f"{host} cannot be reached from {switch}")

    def switches_between(self, src, dst):
        """Return the switches a frame from host src to host dst crosses, in order."""
        parents, todo = {src: None}, [src]
        while todo:
            node = todo.pop(0)
            for neighbour, _port in self.topo.ports[node].values():
                if neighbour not in parents:
                    parents[neighbour] = node
                    todo.append(neighbour)
        if dst not in parents:
            raise HarnessError(f"{dst} cannot be reached from {src}")
        path, node = [], parents[dst]
        while node != src:
            path.append(node)
            node = parents[node]
        return path[::-1]

    def host_ports(self):
        """Return {switch name: [the OpenFlow port numbers linked to a host]}."""
        hosts = set(self.hosts())
        return {switch: sorted(port for port, (node, _node_port) in self.topo.ports[switch].items()
                               if node in hosts)
                for switch in self.switches()}

    def port_count(self):
        """Return the number of switch ports in the topology, links between switches included."""
        return sum(len(self.topo.ports[switch]) for switch in self.switches())

    def _reachable(self, node, without):
        """Return the nodes reachable from `node` without passing through `without`."""
        seen, todo = {without, node}, [node]
        while todo:
            for neighbour, _port in self.topo.ports[todo.pop()].values():
                if neighbour not in seen:
                    seen.add(neighbour)
                    todo.append(neighbour)
        return seen - {without}


def _listed(names, most=8):
    """Name the first few of many names: "h1, h2, ... h254 (254)"."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most - 1])}, ... {names[-1]} ({len(names)})"
