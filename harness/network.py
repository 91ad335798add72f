"""The Mininet network of one run: built from an experiment's topology on Open vSwitch with
the classes of harness.mininet_nodes (quiet hosts and interfaces, marked bridges and links),
verified port by port, and always torn down.
"""
import ipaddress
import json
import os
import time
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from .capture import Elsewhere, mirror_argv
from .cleanup import interface_mark, kill_host_processes
from .containers import container_name
from .controller import INACTIVITY_PROBE_MS
from .errors import HarnessError
from .kernel_tuning import hold_on_server, make_room, skip_fixlimits
from .environment import DATAPATH_LABELS
from .ovs import (DATAPATH_TYPES, VSWITCHD_PIDFILE, Vswitchd, control_socket, existing_bridges, fresh_revalidator_pass,
                  open_datapaths)
from .ovs_node import OvsNode
from .topology import Wiring, ovs_value
from .waiting import poll_until

LINKS_GONE_TIMEOUT = 10.0   # seconds the kernel may take to remove the run's veths after its hosts


def _port_argv(bridge, port, tag, type, options, ofport):
    """ovs-vsctl's arguments adding `port` to OVS node bridge `bridge` ("node/bridge")."""
    interface = ([f"type={type}"] if type else []) + \
        [f"options:{key}={value}" for key, value in (options or {}).items()] + \
        ([f"ofport_request={ofport}"] if ofport else [])
    return ["--", "add-port", bridge.partition("/")[2], port,
            *(["--", "set", "Interface", port, *interface] if interface else []),
            *(["--", "set", "Port", port, f"tag={tag}"] if tag is not None else [])]


@contextmanager
def c_locale():
    """Run the inside with LC_ALL=C in the environment: the host shells Mininet starts then,
    and every command they run, print numbers and messages as the parsers expect them."""
    previous = os.environ.get("LC_ALL")
    os.environ["LC_ALL"] = "C"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("LC_ALL", None)
        else:
            os.environ["LC_ALL"] = previous


class Network(Wiring):
    """A Mininet network for one run: `start` it, and `stop` it in a `finally`. As a Wiring,
    it also says what is linked to what."""

    def __init__(self, topo, datapath, run_id, tools, state, controller_target=None,
                 meter=lambda what, done, total: None, node_logs=None, images=None, cluster=None):
        """topo: a Mininet Topo; datapath: "kernel" or "user"; state: the run's RunState;
        controller_target: the OpenFlow controller every switch connects to, if any;
        meter(what, done, total) is told how many hosts are configured, for a progress bar;
        node_logs: the folder where each OVS node's daemons, and each container, log
        (node_logs/<node>/); images: {server with container hosts (its name; None on one
        machine): {image a container host declares: (image to run, id)}} (harness.containers.
        Docker.resolve_images), for a topology with container hosts; cluster:
        the harness.cluster.Cluster whose servers the nodes run on, for a run on several."""
        super().__init__(topo, cluster and cluster.placement)
        self.cluster = cluster
        self.images = images or {}
        self.node_logs = node_logs
        self.ovs = {}           # OVS node name -> its OvsNode, once started
        self.meter = meter
        self.datapath = datapath
        self.controller_target = controller_target
        self.run_id = run_id
        self.tools = tools
        self.state = state
        self.net = None
        self.port_names = {}    # switch name -> {"1": "s1-eth1", ..., "LOCAL": "s1"}
        self._carried = {}      # host moved to a switch of another server -> (its tunnel here, that switch)
        self._tunnels = []      # see tunnels(): the links' once built, then each a move made
        self._gre_keys = None   # the GRE keys of a run on several servers' tunnels, one after the other
        self.build_seconds = None

    def root_interfaces(self, switches=None):
        """Return the names of the interfaces this topology puts in the root namespace (of
        `switches` only, if given)."""
        names = []
        for switch in self.topo.switches() if switches is None else switches:
            names.append(switch)
            names += [f"{switch}-eth{port}" for port in sorted(self._links[switch])]
        return names

    def on_server(self, node, argv):
        """The argv that runs `argv` in the root namespace where `node` runs."""
        return self.cluster.on(node, argv) if self.cluster else argv

    def _is_here(self, server):
        """Whether `server` (a key of _switches_by_server) is this machine."""
        return server is None or self.cluster.servers[server].local

    def _switches_here(self):
        """The switches that run on this machine."""
        return [switch for server, switches in self._switches_by_server().items() for switch in switches
                if self._is_here(server)]

    def _switches_by_server(self):
        """{server name, or None for a run on this machine only: its switches}."""
        if not self.cluster:
            return {None: list(self.topo.switches())}
        by_server = {}
        for switch in self.topo.switches():
            by_server.setdefault(self.cluster.placement[switch], []).append(switch)
        return by_server

    def _refuse_clashes(self):
        """Raise HarnessError if a bridge or interface we are about to create exists already,
        or if the ovs-vswitchd our bridges join has another datapath open (on any of the
        run's servers)."""
        for server, switches in self._switches_by_server().items():
            if not switches:
                continue
            where = f" on {server}" if server else ""

            def there(argv, node=switches[0]):
                return self.on_server(node, argv)
            bridges = existing_bridges(self.tools, there)
            for switch in switches:
                if switch not in bridges:
                    continue
                if bridges[switch] and server:
                    raise HarnessError(f"bridge {switch}{where} belongs to run {bridges[switch]}: a run on these "
                                       "servers is in progress, or left it (then `python -m harness clean "
                                       "--cluster ...` on the machine that drove it removes it)")
                if bridges[switch]:
                    raise HarnessError(f"bridge {switch} is left over from run {bridges[switch]}: "
                                       "run `python -m harness clean` first")
                raise HarnessError(f"bridge {switch}{where} already exists and is not ovs-harness's: "
                                   f"remove it (ovs-vsctl del-br {switch}) or rename it")
            # With bridges on two datapaths, ovs-vswitchd has a revalidator set (udpif) for
            # each, and `revalidator/wait`, which every snapshot needs, refuses: "can't wait
            # on multiple udpifs".
            for kind, names in open_datapaths(self.tools.run(there(["ovs-appctl", "dpif/show"]))).items():
                if kind != self.datapath:
                    label = DATAPATH_LABELS.get(kind, kind)
                    instead = f"run with --datapath {kind}, or " if kind in DATAPATH_TYPES else ""
                    raise HarnessError(
                        f"ovs-vswitchd{where} has bridges on the {label} datapath ({', '.join(names)}): "
                        f"beside them, a run's on the {DATAPATH_LABELS[self.datapath]} one could not wait for "
                        f"the switch to count its packets (OVS waits on one datapath only): {instead}"
                        "remove them (`python -m harness clean` removes ovs-harness's)")
            present = set(os.listdir("/sys/class/net")) if self._is_here(server) else \
                set(self.tools.run(there(["ls", "/sys/class/net"])).split())
            for name in self.root_interfaces(switches):
                if name in present:
                    raise HarnessError(f"network interface {name}{where} already exists: run "
                                       "`python -m harness clean` if a run left it, or remove it")

    def start(self):
        """Build and start the network, then verify every switch port is attached. Sets
        build_seconds to the time all that took."""
        started = time.monotonic()
        from mininet.net import Mininet     # imported here: only a build needs Mininet
        from . import mininet_nodes as nodes
        skip_fixlimits(Mininet)
        self._refuse_clashes()
        by_server = self._switches_by_server()
        here = self._switches_here()
        containers = {}     # server (None: this machine) -> the names of the containers to run there
        for host in self.containers():
            containers.setdefault(self._server_key(host), []).append(container_name(self.run_id, host))
        self.state.update(bridges=here, interfaces=self.root_interfaces(here), containers=containers.get(None, []))
        if self.cluster:
            self.state.update(servers={server.name: {"address": server.address,
                                                     "control_path": self.cluster.control_path(server),
                                                     "bridges": by_server.get(server.name, []),
                                                     "interfaces": self.root_interfaces(by_server.get(server.name, [])),
                                                     "containers": containers.get(server.name, [])}
                                       for server in self.cluster.remote()})
        self._make_room()
        switch = partial(nodes.HarnessSwitch, run_id=self.run_id, tools=self.tools, datapath=self.datapath,
                         controller_target=self.controller_target)
        configured = []

        def one_more_configured():
            configured.append(True)
            self.meter("configuring hosts", len(configured), len(self.hosts()))

        def local_host(name, container=None, **params):
            if container is None:
                return nodes.QuietHost(name, on_configured=one_more_configured, **params)
            return nodes.ContainerHost(name, container, **self._container_params(name, container),
                                       on_configured=one_more_configured, **params)
        switch, host, link = self._cluster_classes(switch, one_more_configured) if self.cluster else \
            (switch, local_host, partial(nodes.MarkedLink, run_id=self.run_id))
        self.net = Mininet(topo=self.topo, switch=switch, host=host, link=link, intf=nodes.QuietIntf,
                           controller=None, autoSetMacs=True, build=False)
        try:
            with c_locale():
                self.net.build()
        finally:
            self.state.update(host_namespaces=[
                {"inode": os.stat(f"/proc/{host.pid}/ns/net").st_ino, "interfaces": host.intfNames()}
                for host in self.net.hosts if host.shell and getattr(host, "server", "localhost") == "localhost"])
        self._tunnels = [[link.intf1.node.name, link.intf1.name, link.intf2.node.name, link.intf2.name]
                         for link in self.net.links if getattr(link, "tunnel", None) is not None]
        self.net.start()
        if self.datapath == "user":
            # A veth leaves a TCP or UDP checksum for the hardware to fill in; the userspace
            # datapath forwards the frame as it is, and the receiving host drops it as corrupt
            # (measured: a TCP connection between two hosts never got past its SYNs). Ping is
            # unaffected (ICMP checksums are always computed), and so is the kernel datapath.
            # All at once: one after the other, the commands cost 1.5 s of a 254-host build.
            self.tools.run_each([(["ethtool", "--offload", name, "tx", "off"], host)
                                 for host in self.net.hosts for name in host.intfNames() if name != "lo"])
        for node in self.ovs_nodes():
            server = self.cluster.placement[node] if self.cluster else None
            self.ovs[node] = OvsNode(self.net[node], self.run_id, self.tools, self.state, self.node_logs / node,
                                     *(() if self._is_here(server) else (server, partial(self.on_server, node))))
            self.ovs[node].start()
        for switch_name in self.topo.switches():
            self.port_names[switch_name] = self._verify_ports(switch_name)
        self.build_seconds = time.monotonic() - started

    def _make_room(self):
        """Raise each server's kernel settings to what the run needs there: room for an ARP
        entry of every host for each of its hosts (harness.kernel_tuning)."""
        hosts = self.topo.hosts()
        if not self.cluster:
            make_room(len(hosts) ** 2, self.state)
            return
        for server in self.cluster.servers.values():
            entries = len(hosts) * sum(self.cluster.placement[host] == server.name for host in hosts)
            if server.local:
                make_room(entries, self.state)
            else:
                hold_on_server(entries, self.state, server.name, partial(self.cluster.argv, server), self.tools)

    def _cluster_classes(self, switch, one_more_configured):
        """(switch, host, link) classes of a run on several servers: Cluster Edition's
        remote nodes and GRE link (harness.cluster_nodes), each node on its server."""
        from . import cluster_nodes
        from .cluster import CLUSTER_USER
        self._gre_keys = iter(range(cluster_nodes.gre_key_base(self.run_id) + 1, 1 << 32))

        def placed(name):
            server, address = self.cluster.mininet_server(name)
            return {"server": server, "serverIP": address, "user": CLUSTER_USER,
                    "controlPath": None if server == "localhost" else
                    self.cluster.control_path(self.cluster.server_of(name))}

        def remote_switch(name, **params):
            target = switch.keywords["controller_target"]
            return cluster_nodes.RemoteHarnessSwitch(
                name, cluster=self.cluster, **{**switch.keywords, **params, **placed(name),
                                               "controller_target": target and self.cluster.controller_target(name, target)})

        def remote_host(name, container=None, **params):
            if container is None:
                return cluster_nodes.RemoteQuietHost(name, on_configured=one_more_configured,
                                                     **{**params, **placed(name)})
            # (container by name: Cluster Edition's mixin, first in line, takes `server` second)
            return cluster_nodes.RemoteContainerHost(name, container=container,
                                                     **self._container_params(name, container),
                                                     on_configured=one_more_configured, **{**params, **placed(name)})

        def link(node1, node2, **params):
            return cluster_nodes.RunGRELink(node1, node2, run_id=self.run_id, key=next(self._gre_keys), **params)
        return remote_switch, remote_host, link

    def _server_key(self, node):
        """The server `node` runs on, as the run's state names it: None for this machine."""
        server = self.cluster.placement[node] if self.cluster else None
        return None if self._is_here(server) else server

    def _container_params(self, host, container):
        """What a ContainerHost of `host` is made with, besides its Container: the image its
        server's Docker runs, and how to reach that server."""
        return {"image": self.images[self.placement[host] if self.placement else None][container.image][0],
                "run_id": self.run_id,
                "tools": self.tools, "log_dir": self.node_logs / host, "there": partial(self.on_server, host)}

    def _verify_ports(self, switch):
        """Check OVS attached every port the topology gives `switch`, at the number asked.

        Returns {"1": "s1-eth1", ..., "LOCAL": "s1"}; raises HarnessError on any mismatch."""
        expected = {f"{switch}-eth{port}": port for port in self._links[switch]}
        listing = self.tools.run(self.on_server(switch, ["ovs-vsctl", "--format=json", "--columns=name,ofport,error",
                                                         "list", "Interface", *expected]))
        attached = {row[0]: (row[1], row[2]) for row in json.loads(listing)["data"]}
        problems = []
        for name, port in sorted(expected.items(), key=lambda item: item[1]):
            ofport, error = attached.get(name, (None, None))
            if ofport != port:
                reason = error if isinstance(error, str) else f"OpenFlow port {ofport}"
                problems.append(f"{name} ({reason})")
        if problems:
            raise HarnessError(f"Open vSwitch did not attach {len(problems)} of {len(expected)} "
                               f"ports of {switch} ({self.datapath} datapath): " + ", ".join(problems[:5]))
        names = {str(port): name for name, port in expected.items()}
        names["LOCAL"] = switch
        return names

    def stop(self):
        """Stop the OVS nodes' daemons, then tear the network down with Mininet (what it
        leaves, cleanup removes)."""
        problems = []
        for node in list(self.ovs):
            try:
                self.ovs.pop(node).stop()
            except HarnessError as problem:
                problems.append(str(problem))
        if self.net is not None:
            net, self.net = self.net, None
            self._stop_mininet(net)
        if problems:
            raise HarnessError("; ".join(problems))

    def _stop_mininet(self, net):
        """Stop Mininet's network as net.stop() does, but without deleting each link end by
        its own `ip link del` through a shell (508 commands, 6 s of a 254-host teardown):
        the bridges go first, then the hosts' shells, and a namespace whose last process has
        ended takes its veth ends, and their peers in the root namespace, with it (what is
        still running in one is killed). What the kernel has not removed after
        LINKS_GONE_TIMEOUT, cleanup removes."""
        for switches in self._switches_by_server().values():
            if switches:
                self.tools.run(self.on_server(switches[0], ["ovs-vsctl", *(
                    word for switch in switches for word in ("--", "--if-exists", "del-br", switch))]))
        # A link between two switches has both ends in the root namespace: no namespace
        # takes it away, so it is deleted (one end takes its peer with it; a tunnel
        # between two servers has an end on each), as is a moved host's tunnel.
        for host, (tunnel, switch) in self._carried.items():
            self.tools.run(self.on_server(switch, ["ip", "link", "del", self.port_name(*self.attachment(host))]),
                           check=False)
            self.tools.run(self.on_server(host, ["ip", "link", "del", tunnel]), check=False)
        for link in net.links:
            if not link.intf1.node.inNamespace and not link.intf2.node.inNamespace:
                ends = [link.intf1] if getattr(link, "tunnel", None) is None else [link.intf1, link.intf2]
                for end in ends:
                    self.tools.run(self.on_server(end.node.name, ["ip", "link", "del", end.name]), check=False)
        for node in net.switches + net.hosts:
            node.terminate()
        # A command still running on a host (a long ping) would keep its namespace alive.
        kill_host_processes(self.state.read().get("host_namespaces", []))
        links = [name for name in self.root_interfaces(self._switches_here()) if name not in self.switches()]
        poll_until(lambda: not any(Path("/sys/class/net", name).exists() for name in links), LINKS_GONE_TIMEOUT)

    def tunnels(self):
        """The GRE tunnels between servers of a run on several, each [node, its interface,
        node, its interface]: those of the topology's links (between their ends), then those
        made by moves, in order, removed since or not (a moved host's tunnel end on its
        server, and the new switch's port on the other)."""
        return [list(tunnel) for tunnel in self._tunnels]

    def built(self, node):
        """Whether Mininet made `node` (a build that failed may have stopped before it)."""
        return self.net is not None and node in self.net

    def host(self, name):
        """Return the Mininet host called `name`, or raise HarnessError listing the hosts."""
        self.require_host(name)
        return self.net[name]

    def mac(self, host):
        return self.host(host).MAC()

    def ip(self, host):
        return self.host(host).IP()

    def configure_port(self, switch, port, settings):
        """Set (a value of None: clear) the Port table's settings of `switch`'s port `port`."""
        super().configure_port(switch, port, settings)
        name = self.port_name(switch, port)
        argv = ["ovs-vsctl"]
        for setting, value in settings.items():
            argv += ["--", "clear", "Port", name, setting] if value is None else \
                ["--", "set", "Port", name, f"{setting}={ovs_value(setting, value)}"]
        self.tools.run(self.on_server(switch, argv))

    def configure_bridge(self, switch, settings):
        """Set (a value of None: remove) other_config keys of bridge `switch`."""
        super().configure_bridge(switch, settings)
        argv = ["ovs-vsctl"]
        for key, value in settings.items():
            argv += ["--", "remove", "Bridge", switch, "other_config", key] if value is None else \
                ["--", "set", "Bridge", switch, f"other_config:{key}={value}"]
        self.tools.run(self.on_server(switch, argv))

    def move(self, host, switch, port):
        """Move `host`'s link to OpenFlow port `port` of `switch`: the interface leaves its
        old port (OVS forgets the MACs learned there) and joins the new one, with its port
        settings. It keeps its name (s1-eth3 may then be on s2). Within a server, in one OVS
        transaction. To a switch of another server (--cluster; a VM migrating to another
        hypervisor), the host stays where it is, its interface and neighbour entries with it:
        its link's end there is wired to a gretap tunnel, whose other end is the new port,
        under the same name (_carry)."""
        name = self.port_name(*self.attachment(host))
        old_switch, old_port = super().move(host, switch, port)
        plug = ["--", "add-port", switch, name, "--", "set", "Interface", name, f"ofport_request={port}"]
        settings = self.port_settings(switch).get(port, {})
        if settings:
            plug += ["--", "set", "Port", name, *(f"{key}={ovs_value(key, value)}" for key, value in settings.items())]
        home = self.placement and self.placement[host]
        if host in self._carried or (self.placement and self.placement[switch] != home):
            self._uncarry(host, old_switch, name)
            if self.placement[switch] != home:
                self._carry(host, switch, name)
            self.tools.run(self.on_server(switch, ["ovs-vsctl", *plug]))
        else:
            self.tools.run(self.on_server(switch, ["ovs-vsctl", "--", "del-port", old_switch, name, *plug]))
        del self.port_names[old_switch][str(old_port)]
        self.port_names[switch][str(port)] = name
        ofport = self.tools.run(self.on_server(switch, ["ovs-vsctl", "get", "Interface", name, "ofport"])).strip()
        if ofport != str(port):
            raise HarnessError(f"Open vSwitch gave {name} port {ofport} of {switch}, not {port}")
        return old_switch, old_port

    def _carry(self, host, switch, name):
        """Wire `host`'s link end `name` (in its server's root namespace, out of any bridge)
        to a new interface `name` on `switch`'s server, not yet a port: a gretap tunnel
        between the servers (a key of the run's), made there under that name and here under
        the run's own, and tc filters that pass every frame either end receives to the other
        (mirred redirect: a wire, with no bridge to learn or filter frames)."""
        from . import cluster_nodes
        key = next(self._gre_keys)
        tunnel = cluster_nodes.tunnel_name(key)
        near, far = self.net[host], self.net[switch]
        local, remote = cluster_nodes.tunnel_address(near, far), cluster_nodes.tunnel_address(far, near)
        self._expect_interface(host, tunnel)
        self._expect_interface(switch, name)
        commands = [(host, argv) for argv in cluster_nodes.gretap_argvs(tunnel, local, remote, key, self.run_id)]
        commands += [(host, argv) for end, other in ((name, tunnel), (tunnel, name)) for argv in (
            ["tc", "qdisc", "add", "dev", end, "clsact"],
            ["tc", "filter", "add", "dev", end, "ingress", "matchall", "action", "mirred", "egress", "redirect",
             "dev", other])]
        commands += [(switch, argv) for argv in cluster_nodes.gretap_argvs(name, remote, local, key, self.run_id)]
        for node, argv in commands:
            self.tools.run(self.on_server(node, argv))
        self._carried[host] = (tunnel, switch)
        self._tunnels.append([host, tunnel, switch, name])

    def _uncarry(self, host, old_switch, name):
        """Take `host`'s link end `name` out of `old_switch`: the port, and for a host carried to
        another server (_carry), the tunnel and the filters."""
        tunnel, far = self._carried.pop(host, (None, old_switch))
        self.tools.run(self.on_server(far, ["ovs-vsctl", "del-port", old_switch, name]))
        if tunnel:
            self.tools.run(self.on_server(far, ["ip", "link", "del", name]))
            self.tools.run(self.on_server(host, ["ip", "link", "del", tunnel]))
            self.tools.run(self.on_server(host, ["tc", "qdisc", "del", "dev", name, "clsact"]))

    def capture_point(self, node, port=None, via=None):
        """Return the CapturePoint of host `node`, or of port `port` of switch `node`,
        making the mirror that feeds it if one is used (see Wiring.capture_point)."""
        point = super().capture_point(node, port, via)
        if point.mirror:
            self._expect_interface(node, point.interface)
            for argv in (mirror_argv(point.mirror, self.port_name(node, port), point.interface),
                         ["ip", "link", "set", "dev", point.interface, "alias", interface_mark(self.run_id)],
                         ["sysctl", "-q", "-w", f"net/ipv6/conf/{point.interface}/disable_ipv6=1"],
                         ["ip", "link", "set", "dev", point.interface, "up"]):
                self.tools.run(self.on_server(node, argv))
        return point

    def _expect_interface(self, node, name):
        """Record in the run's state, before it is made, that interface `name` is about to be
        made in the root namespace of `node`'s server."""
        state = self.state.read()
        server = self._server_key(node)
        if server is None:
            self.state.update(interfaces=state["interfaces"] + [name])
        else:
            state["servers"][server]["interfaces"].append(name)
            self.state.update(servers=state["servers"])

    def elsewhere(self, point):
        """For a capture point on another server, the Elsewhere that says how to run tcpdump
        there; None for a point on this machine."""
        if not self.cluster or self.cluster.server_of(point.node).local:
            return None
        return Elsewhere(self.cluster.placement[point.node], partial(self.cluster.on, point.node),
                         self.host(point.host).pid if point.host else None)

    # -- OVS nodes' bridges, Linux plumbing and firewalls (see Lab.add_bridge and after) --------

    def ofctl(self, bridge, command, *args):
        """The argv of `ovs-ofctl command` on `bridge`: a switch, or an OVS node's "node/bridge"."""
        node, _, name = bridge.rpartition("/")
        return self.ovs[node].ofctl(command, name, *args) if node else \
            self.on_server(bridge, ["ovs-ofctl", command, bridge, *args])

    def appctl(self, command, bridge, *args):
        """The argv of `ovs-appctl command bridge args` for the ovs-vswitchd that has `bridge`."""
        node, _, name = bridge.rpartition("/")
        return self.ovs[node].appctl(command, name, *args) if node else \
            self.on_server(bridge, ["ovs-appctl", command, bridge, *args])

    def _vswitchds(self):
        """A Vswitchd for every ovs-vswitchd with bridges of this run: each server's own, and
        each OVS node's."""
        daemons = []
        for server, switches in self._switches_by_server().items():
            if switches:
                here = self._is_here(server)
                daemons.append(Vswitchd(partial(self.ofctl, switches[0]), partial(self._server_appctl, switches[0]),
                                        VSWITCHD_PIDFILE if here else None,
                                        control_socket(VSWITCHD_PIDFILE) if here else None))
        for node in sorted({self._node_bridges[bridge] for bridge in self.node_bridges()}):
            ovs = self.ovs[node]
            bridge = next(bridge for bridge in self.node_bridges() if self._node_bridges[bridge] == node)
            here = not ovs.server
            daemons.append(Vswitchd(partial(self.ofctl, bridge), ovs.appctl,
                                    ovs.pidfile() if here else None, ovs.control_socket() if here else None))
        return daemons

    def _server_appctl(self, switch, *args):
        return self.on_server(switch, ["ovs-appctl", *args])

    def wait_for_revalidators(self):
        """Wait for a revalidator pass, begun after this call, of every ovs-vswitchd with
        bridges of this run: a pass pushes the datapath flows' packet counts to their
        OpenFlow flows (and teaches NORMAL the source MACs they carried). This machine's
        daemons make one at once (ovs.fresh_revalidator_pass); a daemon on another server is
        waited for with ovs-appctl there: its next pass of its own, up to max-revalidator ms."""
        daemons = self._vswitchds()
        far = [(daemon.appctl("revalidator/wait"), None) for daemon in daemons if daemon.control is None]
        started = self.tools.start_all(far)
        try:
            fresh_revalidator_pass(self.tools, [daemon for daemon in daemons if daemon.control is not None])
        except BaseException:
            self.tools.finish_all(started)      # (what they answer does not matter now)
            raise
        self.tools.finish_each(far, started)

    def vswitchd_pidfiles(self):
        """The pid files of every ovs-vswitchd with bridges of this run, or None if one of
        them runs on another server (its /proc is not this machine's)."""
        pidfiles = [daemon.pidfile for daemon in self._vswitchds()]
        return None if None in pidfiles else pidfiles

    def add_node_bridge(self, node, bridge, fail_mode="secure"):
        name = super().add_node_bridge(node, bridge, fail_mode)
        self.tools.run(self.ovs[node].vsctl(
            "--", "add-br", bridge, "--", "set", "Bridge", bridge, f"fail_mode={fail_mode}",
            f"datapath_type={DATAPATH_TYPES[self.datapath]}", "other_config:disable-in-band=true"))
        self.port_names[name] = {"LOCAL": bridge}
        return name

    def add_port(self, bridge, port, tag=None, type=None, options=None, ofport=None):
        super().add_port(bridge, port, tag, type, options, ofport)
        node = self._node_bridges[bridge]
        self.tools.run(self.ovs[node].vsctl(*_port_argv(bridge, port, tag, type, options, ofport)))
        return self._attached(bridge, port, ofport)

    def patch(self, bridge1, port1, bridge2, port2, ofport1=None, ofport2=None):
        super().patch(bridge1, port1, bridge2, port2, ofport1, ofport2)
        node = self._node_bridges[bridge1]
        self.tools.run(self.ovs[node].vsctl(
            *_port_argv(bridge1, port1, None, "patch", {"peer": port2}, ofport1),
            *_port_argv(bridge2, port2, None, "patch", {"peer": port1}, ofport2)))
        return self._attached(bridge1, port1, ofport1), self._attached(bridge2, port2, ofport2)

    def _attached(self, bridge, port, ofport):
        """Check OVS attached `port` to `bridge` (at OpenFlow port `ofport`, if given) and
        note its name; return its OpenFlow port number."""
        listing = json.loads(self.tools.run(self.ovs[self._node_bridges[bridge]].vsctl(
            "--format=json", "--columns=ofport,error", "list", "Interface", port)))
        number, error = listing["data"][0]
        if not isinstance(number, int) or number < 1 or (ofport and number != ofport) or isinstance(error, str):
            raise HarnessError(f"Open vSwitch did not attach {port} to {bridge} as asked "
                               f"({error if isinstance(error, str) else f'OpenFlow port {number}'})")
        self.port_names[bridge][str(number)] = port
        return number

    def linux_bridge(self, node, name, ports):
        super().linux_bridge(node, name, ports)
        host = self.host(node)
        self.tools.run(["ip", "link", "add", name, "type", "bridge"], host=host)
        for port in ports:
            self.tools.run(["ip", "link", "set", port, "master", name, "up"], host=host)
        self.tools.run(["ip", "link", "set", name, "up"], host=host)

    def veth(self, node, name1, name2):
        super().veth(node, name1, name2)
        host = self.host(node)
        self.tools.run(["ip", "link", "add", name1, "type", "veth", "peer", "name", name2], host=host)
        for name in (name1, name2):
            self.tools.run(["ip", "link", "set", name, "up"], host=host)

    def address(self, node, interface, address):
        super().address(node, interface, address)
        host = self.host(node)
        host.quiet_arp(interface)
        self.tools.run(["ip", "address", "add", address, "dev", interface], host=host)
        self.tools.run(["ip", "link", "set", interface, "up"], host=host)

    def firewall(self, node, rule, table="filter"):
        super().firewall(node, rule, table)
        self.tools.run(["iptables", "-w", "-t", table, *rule], host=self.host(node))

    @staticmethod
    def broadcast_address(host):
        """Return the broadcast address of a Mininet host's subnet (10.255.255.255 in
        Mininet's default 10.0.0.0/8)."""
        intf = host.defaultIntf()
        return str(ipaddress.ip_interface(f"{intf.IP()}/{intf.prefixLen}").network.broadcast_address)

    def arm_controller_probes(self):
        """Give every switch's connection to the controller app the harness's inactivity
        probe (controller.INACTIVITY_PROBE_MS), once every switch is connected. Open vSwitch
        before 3.1.3 (Debian 12 has 3.1.0) gives a connection its Controller row's probe only
        when the row changes while the connection is up ("connmgr: Fix ofconn configuration
        on vswitchd startup", upstream commit 155f632e7): a row made with the probe, before a
        switch that connected after the bridge's last change, left that connection with OVS's
        5 s, and in a suite run vm1's switch cut off the live app after 5 s without an echo
        reply. One transaction a server, its switches' rows at once."""
        commands = []
        for switches in self._switches_by_server().values():
            if not switches:
                continue
            argv = ["ovs-vsctl"]
            for switch in switches:
                argv += ["--", "set", "Controller", switch, f"inactivity_probe={INACTIVITY_PROBE_MS}"]
            commands.append((self.on_server(switches[0], argv), None))
        self.tools.run_each(commands)

    def dpids(self):
        """Return {switch name: its OpenFlow datapath id}."""
        return {switch: int(self.net[switch].dpid, 16) for switch in self.switches()}



