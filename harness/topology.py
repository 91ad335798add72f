"""Topologies experiments declare; each builds the matching Mininet Topo when a run starts.

SingleSwitch, Linear and Tree are Mininet's own shapes; Topology declares any other network
link by link, with the OVS settings of its ports (access VLAN, trunks) and bridges
(other_config such as mac-aging-time), which the bridges are created with, and the names and
addresses of link ends; its OVS nodes are hosts that run an Open vSwitch of their own
(harness.ovs_node), whose bridges the experiment makes (Lab.add_bridge).
"""
import ipaddress
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from .capture import CapturePoint
from .containers import Container
from .errors import HarnessError


def require_container(containers):
    """Raise HarnessError unless `containers` (what a shaped topology's hosts are) is None
    or a Container."""
    if containers is not None and not isinstance(containers, Container):
        raise HarnessError(f"containers must be a harness.containers.Container, not {containers!r}")


def with_containers(topo, containers):
    """Mark hosts of Mininet Topo `topo` as container hosts: every host, for a Container;
    those it names, for {host: Container}; none, for None. Returns `topo`."""
    if isinstance(containers, Container):
        containers = dict.fromkeys(topo.hosts(), containers)
    for host, container in (containers or {}).items():
        topo.setNodeInfo(host, {**topo.nodeInfo(host), "container": container})
    return topo


def _as_containers(description, containers):
    """A shaped topology's description, saying what its hosts are if they are containers."""
    return f"{description}, hosts as {containers}" if containers else description


class SingleSwitch:
    """One switch, s1, with hosts h1..hN on its ports 1..N (Mininet's `--topo=single,N`):
    host i has MAC 00:00:00:00:00:0i and IP 10.0.0.i. containers: a Container every host
    is, or None for Mininet's hosts (as for Linear and Tree)."""

    def __init__(self, hosts=3, containers=None):
        require_container(containers)
        self.hosts = hosts
        self.containers = containers

    @property
    def host_count(self):
        return self.hosts

    def build(self):
        from mininet.topo import SingleSwitchTopo
        topo = SingleSwitchTopo(k=self.hosts)
        return with_containers(topo, self.containers)

    def __str__(self):
        return _as_containers(f"single switch, {self.hosts} hosts", self.containers)


class Linear:
    """A chain of switches s1..sK, each with `hosts_per_switch` hosts (Mininet's
    `--topo=linear,K,N`); hosts are h1..hK, or h1s1, h2s1, ... with several per switch."""

    def __init__(self, switches=2, hosts_per_switch=1, containers=None):
        require_container(containers)
        self.switches = switches
        self.hosts_per_switch = hosts_per_switch
        self.containers = containers

    @property
    def host_count(self):
        return self.switches * self.hosts_per_switch

    def build(self):
        from mininet.topo import LinearTopo
        topo = LinearTopo(k=self.switches, n=self.hosts_per_switch)
        return with_containers(topo, self.containers)

    def __str__(self):
        return _as_containers(f"linear, {self.switches} switches, {self.hosts_per_switch} host(s) each",
                              self.containers)


class Tree:
    """A tree of switches `depth` levels deep, each with `fanout` children; the leaves'
    children are hosts h1..h(fanout**depth) (Mininet's `--topo=tree,depth,fanout`)."""

    def __init__(self, depth=2, fanout=2, containers=None):
        require_container(containers)
        self.depth = depth
        self.fanout = fanout
        self.containers = containers

    @property
    def host_count(self):
        return self.fanout ** self.depth

    def build(self):
        from mininet.topolib import TreeTopo
        topo = TreeTopo(depth=self.depth, fanout=self.fanout)
        return with_containers(topo, self.containers)

    def __str__(self):
        return _as_containers(f"tree, depth {self.depth}, fanout {self.fanout}", self.containers)


# Port settings an experiment may give (columns of OVS's Port table, ovs-vswitchd.conf.db(5)).
PORT_SETTINGS = ("tag", "trunks", "vlan_mode")
VLAN_MODES = ("access", "trunk", "native-tagged", "native-untagged", "dot1q-tunnel")
# Bridge other_config keys an experiment may set (ovs-vswitchd.conf.db(5), Bridge table);
# datapath-id, dp-desc and disable-in-band are the harness's own. OVS ignores a key it does
# not know, so a misspelt one is refused here rather than silently doing nothing.
BRIDGE_OTHER_CONFIG = (
    "mac-aging-time", "mac-table-size", "forward-bpdu", "hwaddr", "in-band-queue", "controller-queue-size",
    "mcast-snooping-aging-time", "mcast-snooping-table-size", "mcast-snooping-disable-flood-unregistered",
    "stp-system-id", "stp-priority", "stp-hello-time", "stp-max-age", "stp-forward-delay",
    "rstp-address", "rstp-priority", "rstp-ageing-time", "rstp-force-protocol-version", "rstp-max-age",
    "rstp-forward-delay", "rstp-transmit-hold-count")


def require_port_settings(settings):
    """Raise HarnessError unless `settings` ({name: value}) are port settings OVS takes:
    tag (a VLAN, 1-4094), trunks (VLANs), vlan_mode."""
    for name, value in settings.items():
        if name not in PORT_SETTINGS:
            raise HarnessError(f"unknown port setting {name!r} (port settings: {', '.join(PORT_SETTINGS)})")
        vlans = [value] if name == "tag" else list(value) if name == "trunks" else []
        if name == "trunks" and not vlans:
            raise HarnessError("trunks must name at least one VLAN (a port without trunks carries them all)")
        for vlan in vlans:
            if not isinstance(vlan, int) or isinstance(vlan, bool) or not 1 <= vlan <= 4094:
                raise HarnessError(f"{name} must be VLAN numbers from 1 to 4094, not {vlan!r}")
        if name == "vlan_mode" and value not in VLAN_MODES:
            raise HarnessError(f"vlan_mode must be one of {', '.join(VLAN_MODES)}, not {value!r}")


def require_bridge_settings(settings):
    """Raise HarnessError unless `settings` ({key: value}) are Bridge other_config keys an
    experiment may set, with whole-number or text values."""
    for key, value in settings.items():
        if key not in BRIDGE_OTHER_CONFIG:
            raise HarnessError(f"unknown bridge other_config key {key!r} (keys: {', '.join(BRIDGE_OTHER_CONFIG)})")
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise HarnessError(f"bridge setting {key} must be a number or text, not {value!r}")


def ovs_value(name, value):
    """Return a port setting's value as ovs-vsctl takes it (trunks=[10, 20] -> "10,20")."""
    return ",".join(map(str, value)) if name == "trunks" else str(value)


@dataclass(frozen=True)
class Link:
    """A link of a Topology between two nodes. `tag`, `trunks` and `vlan_mode` set the
    switch end's port, as the Port table's columns of the same name (on a link between two
    switches, both ends): `tag=10` makes an access port of VLAN 10, `trunks=(10, 20)` a
    trunk carrying those VLANs tagged. intf1/intf2 name the interface at node1's/node2's
    end (default <node>-eth<port>), ip1/ip2 give it an address ("10.0.0.1/24"), mac1/mac2
    a MAC: Neutron's names (tap..., qr-...) and addresses, for instance."""
    node1: str
    node2: str
    tag: Optional[int] = None
    trunks: Optional[Tuple[int, ...]] = None
    vlan_mode: Optional[str] = None
    intf1: Optional[str] = None
    intf2: Optional[str] = None
    ip1: Optional[str] = None
    ip2: Optional[str] = None
    mac1: Optional[str] = None
    mac2: Optional[str] = None

    def end(self, index):
        """Mininet's addLink arguments for end 1 or 2: ({"intfName1": ..., "addr1": MAC}, {"ip": ...})."""
        name, ip, mac = (self.intf1, self.ip1, self.mac1) if index == 1 else (self.intf2, self.ip2, self.mac2)
        names = {key: value for key, value in ((f"intfName{index}", name), (f"addr{index}", mac)) if value}
        return names, ({"ip": ip} if ip else {})

    def settings(self):
        """Return {setting: value} of the settings given."""
        return {name: getattr(self, name) for name in PORT_SETTINGS if getattr(self, name) is not None}


_NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
_INTERFACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")   # Linux: at most 15 characters
# Interface types a port added to an OVS node's bridge may have (ovs-vswitchd.conf.db(5));
# None: a system interface of the node (a veth end).
INTERFACE_TYPES = (None, "internal", "patch", "gre", "vxlan", "geneve")   # patch: through Lab.patch
IPTABLES_TABLES = ("filter", "nat", "mangle", "raw")


def require_interface_name(name):
    """Raise HarnessError unless `name` can name a Linux interface (or an OVS bridge)."""
    if not isinstance(name, str) or not _INTERFACE_NAME.match(name):
        raise HarnessError(f"interface name {name!r} must be 1 to 15 letters, digits, '.', '_' or '-'")


class Topology:
    """A network declared link by link, as pure data (like Mininet's Topo).

    switches: the switch names; links: Link(...) or (node1, node2) pairs, in order: each
    node's ports are numbered 1, 2, ... in the order of its links, and every node that is not
    a switch is a host, numbered in order of first appearance (MAC 00:00:00:00:00:0i and IP
    10.0.0.i/8 for the i-th host, unless `macs` gives a host its MAC or its links give it
    addresses). bridges: {switch: {other_config key: value}}, e.g. {"s1": {"mac-aging-time":
    15}}. ovs_nodes: hosts that run an Open vSwitch of their own (a compute node, say): no
    address of their own, their bridges made by the experiment (Lab.add_bridge). routes:
    {host: the gateway of its default route}. containers: {host: harness.containers.Container},
    the hosts that are Docker containers."""

    def __init__(self, switches, links, macs=None, bridges=None, description="", ovs_nodes=(), routes=None,
                 containers=None):
        self.switch_names = list(switches)
        self.links = [link if isinstance(link, Link) else Link(*link) for link in links]
        self.macs = dict(macs or {})
        self.bridges = {switch: dict(settings) for switch, settings in (bridges or {}).items()}
        self.description = description
        self.ovs_nodes = list(ovs_nodes)
        self.routes = dict(routes or {})
        self.containers = dict(containers or {})
        self._require_valid()

    def _require_valid(self):
        nodes = self.switch_names + [node for link in self.links for node in (link.node1, link.node2)]
        for node in nodes:
            if not isinstance(node, str) or not _NODE_NAME.match(node):
                raise HarnessError(f"node name {node!r} must be a lower-case letter then up to 7 letters or digits")
        bridged = set(self.switch_names) | set(self.ovs_nodes)
        for link in self.links:
            require_port_settings(link.settings())
            if link.node1 not in bridged and link.node2 not in bridged:
                raise HarnessError(f"link {link.node1}-{link.node2} joins two hosts: a link needs a switch "
                                   "or an OVS node")
            for name in (link.intf1, link.intf2):
                if name is not None:
                    require_interface_name(name)
        for field, names in (("macs", self.macs), ("ovs_nodes", self.ovs_nodes), ("routes", self.routes),
                             ("containers", self.containers)):
            for host in names:
                if host not in self.host_names():
                    raise HarnessError(f"{field} names {host!r}, which is not a host of this topology")
        for host, container in self.containers.items():
            require_container(container)
            if host in self.ovs_nodes:
                raise HarnessError(f"{host} is an OVS node, which runs on the machine's own file system: "
                                   "it cannot also be a container")
        for switch, settings in self.bridges.items():
            if switch not in self.switch_names:
                raise HarnessError(f"bridges names {switch!r}, which is not a switch of this topology")
            require_bridge_settings(settings)

    def host_names(self):
        names = []
        for link in self.links:
            for node in (link.node1, link.node2):
                if node not in self.switch_names and node not in names:
                    names.append(node)
        return names

    @property
    def host_count(self):
        return len(self.host_names())

    def build(self):
        from mininet.topo import Topo
        topo = Topo()
        for switch in self.switch_names:
            topo.addSwitch(switch, bridge_settings=self.bridges.get(switch, {}))
        ends = [(link.node1, link.ip1, link.mac1) for link in self.links] + \
            [(link.node2, link.ip2, link.mac2) for link in self.links]
        for host in self.host_names():
            params = {"mac": self.macs[host]} if host in self.macs else {}
            if host in self.ovs_nodes:
                params.update(ip=None, mac=None, ovs_node=True)
            # Addresses and MACs its links' ends carry are not overwritten by Mininet's own.
            if any(node == host and ip for node, ip, _mac in ends):
                params.update(ip=None)
            if any(node == host and mac for node, _ip, mac in ends):
                params.update(mac=None)
            if host in self.routes:
                params["defaultRoute"] = f"via {self.routes[host]}"
            topo.addHost(host, **params)
        for link in self.links:
            (names1, params1), (names2, params2) = link.end(1), link.end(2)
            topo.addLink(link.node1, link.node2, port_settings=link.settings(), **names1, **names2,
                         **({"params1": params1} if params1 else {}), **({"params2": params2} if params2 else {}))
        return with_containers(topo, self.containers)

    def __str__(self):
        text = self.description or (f"{len(self.switch_names)} switch(es), {self.host_count} hosts, "
                                    f"{len(self.links)} links")
        kinds = sorted({str(container) for container in self.containers.values()})
        return f"{text}; {', '.join(self.containers)} as {' / '.join(kinds)}" if kinds else text


SHAPES = ("single", "linear", "tree")
# The most hosts a topology of the experiments may have: the largest network measured here
# (the README's Scale section), where the reachability waves' flood budget was calibrated.
MOST_HOSTS = 254


def topology_of_shape(shape, *, hosts, switches, hosts_per_switch, depth, fanout, containers=None):
    """Return the topology of shape "single" (one switch with `hosts` hosts), "linear"
    (`switches` switches with `hosts_per_switch` hosts each) or "tree" (`depth`, `fanout`),
    for experiments whose shape is a parameter; containers: the Container every host is,
    or None. Raises HarnessError for more than MOST_HOSTS hosts, so each parameter's range
    stays one that works with the others."""
    if shape == "linear":
        topology = Linear(switches=switches, hosts_per_switch=hosts_per_switch, containers=containers)
    elif shape == "tree":
        topology = Tree(depth=depth, fanout=fanout, containers=containers)
    else:
        topology = SingleSwitch(hosts=hosts, containers=containers)
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

    def __init__(self, topo, placement=None):
        """placement: {node: the server it runs on}, for a run on several servers."""
        self.topo = topo
        self.placement = placement
        self._links = {node: {} for node in topo.nodes()}     # node -> {port: neighbour}
        self._port_settings = {switch: {} for switch in topo.switches()}   # switch -> {port: settings}
        self._names = {}        # (switch, port) -> interface name, for a moved host's
        self._mirrors = {}      # switch -> mirror capture ports made on it
        # Asked for every row of every snapshot: kept, not recomputed (Topo.hosts() sorts).
        self._host_names, self._switch_names = list(topo.hosts()), list(topo.switches())
        self._host_set, self._switch_set = set(self._host_names), set(self._switch_names)
        self._hosts_of_mac = None       # MAC -> [host names], made when first asked
        self._ends = {}         # (node, port) -> {"name": interface name, "ip": address}, those given
        self._node_bridges = {}     # "node/bridge" -> the OVS node it is on, as they are made
        self._firewalls = []        # hosts with iptables rules of the experiment's
        for _node1, _node2, info in topo.links(withInfo=True):
            self._links[info["node1"]][info["port1"]] = info["node2"]
            self._links[info["node2"]][info["port2"]] = info["node1"]
            for index in (1, 2):
                self._ends[(info[f"node{index}"], info[f"port{index}"])] = {
                    "name": info.get(f"intfName{index}"), "ip": info.get(f"params{index}", {}).get("ip"),
                    "mac": info.get(f"addr{index}")}
            for node, port in ((info["node1"], info["port1"]), (info["node2"], info["port2"])):
                if node in self._port_settings and info.get("port_settings"):
                    self._port_settings[node][port] = dict(info["port_settings"])
        self._attach_hosts()

    def same_vswitchd(self, switch1, switch2):
        """Whether one ovs-vswitchd runs both switches' bridges: on one machine, the machine's
        runs every switch; on several servers (--cluster), each server's runs those placed on
        it. (What one daemon does to one bridge it may do to all of its own: deleting a port
        flushes the MACs learned there from every bridge it runs.)"""
        self.require_switch(switch1)
        self.require_switch(switch2)
        return self.placement is None or self.placement[switch1] == self.placement[switch2]

    def port_name(self, switch, port):
        """Return the name of the interface on port `port` of `switch` (Mininet names it
        <switch>-eth<port>; a moved host's keeps its name)."""
        self.require_switch(switch)
        if port not in self._links[switch]:
            raise HarnessError(f"{switch} has no port {port!r} (ports: {', '.join(map(str, sorted(self._links[switch])))})")
        return self._names.get((switch, port), f"{switch}-eth{port}")

    def interface(self, node, port):
        """Return the name of the interface at `node`'s end of its link on port `port`: the
        one the topology gives it, or Mininet's <node>-eth<port>."""
        return self._ends.get((node, port), {}).get("name") or f"{node}-eth{port}"

    def ovs_nodes(self):
        """Return the hosts that run an Open vSwitch of their own, in topology order."""
        return [host for host in self._host_names if self.topo.nodeInfo(host).get("ovs_node")]

    def containers(self):
        """Return {host: its Container} for the hosts that are Docker containers."""
        return {host: self.topo.nodeInfo(host)["container"] for host in self._host_names
                if self.topo.nodeInfo(host).get("container")}

    def require_container_host(self, name):
        """Raise HarnessError unless `name` is a host that is a Docker container."""
        self.require_host(name)
        if name not in self.containers():
            raise HarnessError(f"{name} is not a container host (container hosts: "
                               f"{_listed(list(self.containers())) or 'none'})")

    def add_node_bridge(self, node, bridge, fail_mode="secure"):
        """Record bridge `bridge` of OVS node `node`; return its name among the bridges,
        "node/bridge". Raises HarnessError for a node that is not an OVS node, a bridge name
        OVS would refuse, one the node has already, or a fail_mode OVS does not have."""
        if fail_mode not in ("secure", "standalone"):
            raise HarnessError(f"fail_mode must be \"secure\" or \"standalone\", not {fail_mode!r}")
        if node not in self.ovs_nodes():
            raise HarnessError(f"{node!r} is not an OVS node of this topology (OVS nodes: "
                               f"{_listed(self.ovs_nodes()) or 'none'})")
        require_interface_name(bridge)
        name = f"{node}/{bridge}"
        if name in self._node_bridges:
            raise HarnessError(f"{node} has a bridge {bridge} already")
        self._node_bridges[name] = node
        return name

    def add_port(self, bridge, port, tag=None, type=None, options=None, ofport=None):
        """Check a port `port` to add to OVS node bridge `bridge` (see Lab.add_port)."""
        if bridge not in self._node_bridges:
            raise HarnessError(f"ports are added to an OVS node's bridge (node/bridge), not {bridge!r} "
                               f"(those made so far: {_listed(self.node_bridges()) or 'none'})")
        require_interface_name(port)
        if tag is not None:
            require_port_settings({"tag": tag})
        if type not in INTERFACE_TYPES:
            raise HarnessError(f"port type must be one of {', '.join(map(str, INTERFACE_TYPES))}, not {type!r}")
        if not isinstance(options or {}, dict) or \
                any(not isinstance(value, (str, int)) or isinstance(value, bool) for value in (options or {}).values()):
            raise HarnessError(f"options of port {port} must be {{key: text or number}}, not {options!r}")
        if ofport is not None and (not isinstance(ofport, int) or isinstance(ofport, bool) or not 1 <= ofport <= 65279):
            raise HarnessError(f"ofport must be an OpenFlow port number from 1 to 65279, not {ofport!r}")

    def patch(self, bridge1, port1, bridge2, port2, ofport1=None, ofport2=None):
        """Check a pair of patch ports joining two bridges of one OVS node (see Lab.patch)."""
        Wiring.add_port(self, bridge1, port1, ofport=ofport1)
        Wiring.add_port(self, bridge2, port2, ofport=ofport2)
        if self._node_bridges[bridge1] != self._node_bridges[bridge2] or bridge1 == bridge2:
            raise HarnessError(f"patch ports join two bridges of one OVS node, not {bridge1} and {bridge2}")

    def linux_bridge(self, node, name, ports):
        """Check a Linux bridge `name` of host `node` enslaving interfaces `ports`."""
        self.require_host(node)
        for each in [name, *ports]:
            require_interface_name(each)

    def veth(self, node, name1, name2):
        """Check a veth pair `name1`-`name2` to make in host `node`."""
        self.require_host(node)
        require_interface_name(name1)
        require_interface_name(name2)

    def address(self, node, interface, address):
        """Check an address ("172.16.0.11/24") to give `interface` of host `node`."""
        self.require_host(node)
        require_interface_name(interface)
        try:
            if "/" not in str(address):
                raise ValueError(address)
            ipaddress.ip_interface(address)
        except ValueError:
            raise HarnessError(f"{address!r} is not an address with its prefix, such as 10.0.0.1/24") from None

    def firewall(self, node, rule, table="filter"):
        """Check an iptables rule for host `node`, and note that its iptables counters and
        conntrack entries belong in every snapshot from now on."""
        self.require_host(node)
        if isinstance(rule, str) or not isinstance(rule, (list, tuple)) or not rule or \
                not all(isinstance(word, (str, int)) for word in rule):
            raise HarnessError(f"an iptables rule is a list of words, never a shell string: not {rule!r}")
        if table not in IPTABLES_TABLES:
            raise HarnessError(f"iptables table must be one of {', '.join(IPTABLES_TABLES)}, not {table!r}")
        if node not in self._firewalls:
            self._firewalls.append(node)

    def firewalls(self):
        """Return the hosts given iptables rules so far, whose counters snapshots show."""
        return list(self._firewalls)

    def node_bridges(self):
        """Return the bridges made on OVS nodes, "node/bridge", in the order they were made."""
        return list(self._node_bridges)

    def bridges(self):
        """Return every bridge a snapshot shows: the switches, then the OVS nodes' bridges."""
        return self.switches() + self.node_bridges()

    def require_bridge(self, name):
        """Raise HarnessError unless `name` is a switch or an OVS node's bridge ("node/bridge")."""
        if name not in self._switch_set and name not in self._node_bridges:
            raise HarnessError(f"no bridge {name!r} (bridges: {_listed(self.bridges())}; an OVS node's "
                               "bridge is named node/bridge)")

    def configure_port(self, switch, port, settings):
        """Record new settings of port `port` of `switch` (a value of None clears one)."""
        self.port_name(switch, port)
        require_port_settings({name: value for name, value in settings.items() if value is not None})
        current = self._port_settings[switch].setdefault(port, {})
        current.update(settings)
        for name in [name for name, value in current.items() if value is None]:
            del current[name]

    def configure_bridge(self, switch, settings):
        """Check new other_config settings of bridge `switch` (a value of None removes one)."""
        self.require_switch(switch)
        require_bridge_settings({key: value for key, value in settings.items() if value is not None})

    def configuration(self):
        """Return the settings the topology gives ports and bridges, as rows {switch, port
        (None for the bridge), setting, value}."""
        rows = []
        for switch in self.switches():
            rows += [{"switch": switch, "port": None, "setting": f"other_config:{key}", "value": value}
                     for key, value in self.bridge_settings(switch).items()]
            rows += [{"switch": switch, "port": port, "setting": name, "value": value}
                     for port, settings in sorted(self._port_settings[switch].items())
                     for name, value in settings.items()]
        return rows

    def capture_point(self, node, port=None, via=None):
        """Return the CapturePoint of host `node` (port None), or of port `port` of switch
        `node`. via: "tcpdump" on the port's own interface, or "mirror" (an OVS mirror of
        what the switch sends out of the port, for a port tcpdump cannot see, such as a
        patch port); None chooses tcpdump for a switch port that has an interface."""
        if port is None:
            self.require_host(node)
            if via is not None:
                raise HarnessError(f"via is for switch ports; {node} is captured on its own interface")
            interface = self.interface(node, min(self._links[node]))
            return CapturePoint(node, interface, node, "in",
                                f"tcpdump -Q in on {interface} in {node}'s namespace: frames delivered to {node}",
                                vlan=self.vlan_of(node) if node in self._attachments else 0, node=node)
        name = self.port_name(node, port)
        vlan = self._port_settings[node].get(port, {}).get("tag", 0)
        if via not in (None, "tcpdump", "mirror"):
            raise HarnessError(f"via must be \"tcpdump\" or \"mirror\", not {via!r}")
        if via == "mirror":
            self._mirrors[node] = self._mirrors.get(node, 0) + 1
            interface = f"{node}-cap{self._mirrors[node]}"
            return CapturePoint(name, interface, None, "in",
                                f"OVS mirror of the frames {node} sends out of port {port} to internal port "
                                f"{interface}, tcpdump -Q in there", mirror=node, vlan=vlan, node=node)
        return CapturePoint(name, name, None, "out",
                            f"tcpdump -Q out on {name}: frames {node} sends out of port {port}", vlan=vlan, node=node)

    def port_settings(self, switch):
        """Return {port number: {setting: value}} of the ports of `switch` the topology sets
        (access VLAN, trunks)."""
        return {port: dict(settings) for port, settings in self._port_settings[switch].items()}

    def bridge_settings(self, switch):
        """Return the other_config {key: value} the topology gives bridge `switch`."""
        return dict(self.topo.nodeInfo(switch).get("bridge_settings", {}))

    def vlan_of(self, host):
        """Return the access VLAN of `host`'s port (its `tag`), or 0 for an untagged port."""
        switch, port = self.attachment(host)
        return self._port_settings[switch].get(port, {}).get("tag", 0)

    def attachment(self, host):
        """Return (switch, port) that `host` is linked to."""
        self.require_host(host)
        if host not in self._attachments:
            raise HarnessError(f"{host} is not linked to a switch")
        return self._attachments[host]

    def _attach_hosts(self):
        """Note which (switch, port) each host is linked to (again, after a move)."""
        self._attachments = {node: (switch, port) for switch in self._switch_names
                             for port, node in self._links[switch].items() if node in self._host_set}

    def mac(self, host):
        """Return `host`'s MAC address."""
        from mininet.util import macColonHex
        self.require_host(host)
        given = self._ends.get((host, min(self._links[host], default=0)), {}).get("mac")
        return given or self.topo.nodeInfo(host).get("mac") or macColonHex(self.hosts().index(host) + 1)

    def host_named(self, mac, vlan=None):
        """Return the name of the host with this MAC (see hosts_with_mac), "h1|h3" when the
        VLAN does not tell two apart, or "" for a MAC that is no host's."""
        return "|".join(self.hosts_with_mac(mac, vlan))

    def hosts_with_mac(self, mac, vlan=None):
        """Return the hosts with this MAC: those of VLAN `vlan` when hosts of different VLANs
        share it (all of them if none is in that VLAN); [] for a MAC that is no host's."""
        if self._hosts_of_mac is None:
            self._hosts_of_mac = {}
            for host in self._host_names:
                self._hosts_of_mac.setdefault(self.mac(host), []).append(host)
        hosts = self._hosts_of_mac.get(mac, [])
        if len(hosts) > 1 and vlan is not None:
            hosts = [host for host in hosts if self.vlan_of(host) == vlan] or hosts
        return hosts

    def move(self, host, switch, port):
        """Link `host` to port `port` of `switch` instead of where it was (see Lab.move):
        the answers of this Wiring change accordingly. Returns (old switch, old port)."""
        self.require_switch(switch)
        old_switch, old_port = self.attachment(host)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65279:
            raise HarnessError(f"port must be an OpenFlow port number from 1 to 65279, not {port!r}")
        if port in self._links[switch] and (switch, port) != (old_switch, old_port):
            raise HarnessError(f"port {port} of {switch} is taken (by {self._links[switch][port]})")
        del self._links[old_switch][old_port]
        self._names[(switch, port)] = self._names.pop((old_switch, old_port), f"{old_switch}-eth{old_port}")
        self._links[host] = {port_: (switch if node == old_switch else node)
                             for port_, node in self._links[host].items()}
        self._links[switch][port] = host
        self._attach_hosts()
        settings = self._port_settings[old_switch].pop(old_port, None)
        if settings:
            self._port_settings[switch][port] = settings
        return old_switch, old_port

    def ip(self, host):
        """Return `host`'s IP address: its first link's, if the topology gives it one."""
        from mininet.util import ipAdd
        self.require_host(host)
        given = self._ends.get((host, min(self._links[host], default=0)), {}).get("ip")
        return given.partition("/")[0] if given else ipAdd(self.hosts().index(host) + 1)

    def switches(self):
        """Return the switch names, in topology order."""
        return list(self._switch_names)

    def hosts(self):
        """Return the host names, in topology order."""
        return list(self._host_names)

    def require_host(self, name):
        """Raise HarnessError unless the topology has a host called `name`."""
        if name not in self._host_set:
            raise HarnessError(f"no host {name!r} in this topology (hosts: {_listed(self.hosts())})")

    def require_switch(self, name):
        """Raise HarnessError unless the topology has a switch called `name`."""
        if name not in self._switch_set:
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
