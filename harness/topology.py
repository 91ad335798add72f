"""Topologies experiments declare; each builds the matching Mininet Topo when a run starts."""

from .errors import HarnessError


class SingleSwitch:
    """One switch, s1, with hosts h1..hN on its ports 1..N (Mininet's `--topo=single,N`):
    host i has MAC 00:00:00:00:00:0i and IP 10.0.0.i."""

    def __init__(self, hosts=3):
        self.hosts = hosts

    @property
    def host_count(self):
        return self.hosts

    def build(self):
        from mininet.topo import SingleSwitchTopo
        return SingleSwitchTopo(k=self.hosts)

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
        return self.switches * self.hosts_per_switch

    def build(self):
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
        return self.fanout ** self.depth

    def build(self):
        from mininet.topolib import TreeTopo
        return TreeTopo(depth=self.depth, fanout=self.fanout)

    def __str__(self):
        return f"tree, depth {self.depth}, fanout {self.fanout}"


SHAPES = ("single", "linear", "tree")
# The most hosts a topology of the experiments may have: the largest network measured here
# (the README's Scale section), where the reachability waves' flood budget was calibrated.
MOST_HOSTS = 254


def topology_of_shape(shape, *, hosts, switches, hosts_per_switch, depth, fanout):
    """Return the topology of shape "single" (one switch with `hosts` hosts), "linear"
    (`switches` switches with `hosts_per_switch` hosts each) or "tree" (`depth`, `fanout`),
    for experiments whose shape is a parameter. Raises HarnessError for more than
    MOST_HOSTS hosts, so each parameter's range stays one that works with the others."""
    if shape == "linear":
        topology = Linear(switches=switches, hosts_per_switch=hosts_per_switch)
    elif shape == "tree":
        topology = Tree(depth=depth, fanout=fanout)
    else:
        topology = SingleSwitch(hosts=hosts)
    if topology.host_count > MOST_HOSTS:
        raise HarnessError(f"{topology} has {topology.host_count} hosts; at most {MOST_HOSTS} fit "
                           "(fewer switches, hosts per switch, depth or fanout)")
    return topology


class Wiring:
    """The one place that answers which port, which MAC, which address, which path, for a
    declared network (a Mininet Topo, for `describe` and the dry pass before a run) and a
    built one alike: Network is a Wiring too, answering from what Mininet built.

    Links are read from the Topo's link records (`links(withInfo=True)`, not its legacy
    `ports` map); MACs and addresses are the ones Mininet gives hosts in the order of
    `topo.hosts()` (autoSetMacs, 10.0.0.0/8), which Network overrides with the real ones."""

    def __init__(self, topo):
        self.topo = topo
        self._links = {node: {} for node in topo.nodes()}     # node -> {port: neighbour}
        for _node1, _node2, info in topo.links(withInfo=True):
            self._links[info["node1"]][info["port1"]] = info["node2"]
            self._links[info["node2"]][info["port2"]] = info["node1"]

    def mac(self, host):
        """Return `host`'s MAC address."""
        from mininet.util import macColonHex
        self.require_host(host)
        return macColonHex(self.hosts().index(host) + 1)

    def ip(self, host):
        """Return `host`'s IP address."""
        from mininet.util import ipAdd
        self.require_host(host)
        return ipAdd(self.hosts().index(host) + 1)

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
        for port, node in self._links[switch].items():
            if node == host:
                return port
        raise HarnessError(f"{host} is not linked to {switch}")

    def port_toward(self, switch, host):
        """Return the port of `switch` that frames to `host` leave by."""
        for port, neighbour in sorted(self._links[switch].items()):
            if host in self._reachable(neighbour, without=switch):
                return port
        raise HarnessError(f"{host} cannot be reached from {switch}")

    def switches_between(self, src, dst):
        """Return the switches a frame from host src to host dst crosses, in order."""
        parents, todo = {src: None}, [src]
        while todo:
            node = todo.pop(0)
            for neighbour in self._links[node].values():
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
        return {switch: sorted(port for port, node in self._links[switch].items() if node in hosts)
                for switch in self.switches()}

    def port_count(self):
        """Return the number of switch ports in the topology, links between switches included."""
        return sum(len(self._links[switch]) for switch in self.switches())

    def _reachable(self, node, without):
        """Return the nodes reachable from `node` without passing through `without`."""
        seen, todo = {without, node}, [node]
        while todo:
            for neighbour in self._links[todo.pop()].values():
                if neighbour not in seen:
                    seen.add(neighbour)
                    todo.append(neighbour)
        return seen - {without}


def _listed(names, most=8):
    """Name the first few of many names: "h1, h2, ... h254 (254)"."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most - 1])}, ... {names[-1]} ({len(names)})"
