"""Mininet's own node, interface and link classes, changed where a reproducible experiment
needs them changed. Importing this module imports Mininet: harness.network imports it only
when a network is built, so `describe`, the unit tests and `load_run` need no Mininet.

- `QuietIntf` turns IPv6 off on every interface before it comes up, so no neighbour
  discovery, router solicitation or MLD frame reaches a switch (they teach it MACs and
  inflate its counters);
- `QuietHost` makes the hosts' ARP timing deterministic (see its docstring);
- `ContainerHost` is a QuietHost whose network namespace is a Docker container's;
- `HarnessSwitch` creates its bridge in one checked `ovs-vsctl` transaction that marks the
  bridge as ours and never deletes a bridge of the same name (Mininet's does);
- `MarkedLink` marks every interface it creates in the root namespace as the run's, so that
  `clean` can tell ours from an interface someone else later made with the same name; it
  carries the port settings (VLAN tag, trunks) its switch end is created with.
"""
from pathlib import Path

from mininet.link import Intf, Link
from mininet.node import Host, OVSSwitch

from .cleanup import interface_mark
from .containers import DOCKER, DOCKER_TIMEOUT, container_name, run_argv
from .errors import HarnessError
from .ovs import DATAPATH_TYPES, RUN_ID_KEY
from .topology import ovs_value
from .traffic import ARP_RETRIES

# How long a host's ARP entry stays REACHABLE once confirmed. Linux draws it at random
# between half and 1.5 times base_reachable_time (30 s by default: 15 to 45 s), then
# confirms the entry again with one more unicast ARP request and its reply, so a ping longer
# than 15 s got 0, 1 or more extra frames at random. An hour is longer than any run.
REACHABLE_MS = 3_600_000


def sysctl(node, key, value, **more):
    """Set sysctls in node's namespace, in one command: `key` to `value`, and each of `more`
    ({key: value}); keys in slash form, safe for any interface name."""
    settings = {key: value, **more}
    out, err, code = node.pexec(["sysctl", "-q", "-w", *(f"{name}={setting}" for name, setting in settings.items())])
    if code:
        raise HarnessError(f"could not set {', '.join(settings)} on {node.name}: {(err or out).strip()}")


def mark_interface(node, name, run_id):
    """Give interface `name` (in the root namespace) the run's mark as its alias."""
    out, err, code = node.pexec(["ip", "link", "set", "dev", name, "alias", interface_mark(run_id)])
    if code:
        raise HarnessError(f"could not mark interface {name}: {(err or out).strip()}")


class QuietIntf(Intf):
    """A Mininet interface that never sends IPv6: it is disabled before the link is up."""

    def config(self, **params):
        sysctl(self.node, f"net/ipv6/conf/{self.name}/disable_ipv6", 1)
        return super().config(**params)


class QuietHost(Host):
    """A Mininet host whose ARP sends the same frames on every run:
    - a stale neighbour is confirmed after 1 s instead of 5 s (the same frames, sooner, so a
      step settles in about a second);
    - a confirmed neighbour stays reachable for REACHABLE_MS, so it is never confirmed again
      at a random moment of a long ping;
    - ARP retries as Linux does by default (ARP_RETRIES), not as this machine's root
      namespace was set to, whose neigh/default a new interface inherits.
    on_configured(), if given, is called when the host is configured (a build's progress).
    An OVS node (ovs_node=True, see harness.ovs_node) makes devices of its own later (its
    bridges' internal ports, Linux bridges, veths): they get no IPv6 from its namespace's
    defaults, and the ARP timing when they are given an address (Network.address)."""

    def __init__(self, name, on_configured=None, ovs_node=False, **params):
        self.on_configured = on_configured
        self.ovs_node = ovs_node
        super().__init__(name, **params)

    def config(self, **params):
        result = super().config(**params)
        for intf in self.intfNames():
            if intf != "lo":
                self.quiet_arp(intf)
        if self.ovs_node:
            sysctl(self, "net/ipv6/conf/default/disable_ipv6", 1, **{"net/ipv6/conf/all/disable_ipv6": 1})
        if self.on_configured:
            self.on_configured()
        return result

    def quiet_arp(self, intf):
        """Give interface `intf` the ARP timing above (a namespace other than the root one
        has no neigh/default to inherit it from, so an interface made later needs it too)."""
        sysctl(self, f"net/ipv4/neigh/{intf}/delay_first_probe_time", 1,
               **{f"net/ipv4/neigh/{intf}/base_reachable_time_ms": REACHABLE_MS},
               **{f"net/ipv4/neigh/{intf}/{name}": value for name, value in ARP_RETRIES.items()})


class ContainerHost(QuietHost):
    """A host that is a Docker container (see harness.containers): the container is started
    first, with no network; the host's Mininet shell then runs in the container's network
    namespace, so Mininet moves the host's link end into the container, and every command
    the harness runs on the host (ping, tcpdump, sysctl) runs there, from the machine's file
    system. The container's own processes (its image's command) see only that link.
    Terminating the host keeps the container's log (`docker logs`) in `log_dir` and removes
    the container. Docker is the server's where the host runs: `there(argv)` is the argv
    that runs argv in that server's root namespace."""

    def __init__(self, name, container, image, run_id, tools, log_dir, there=list, **params):
        """container: the harness.containers.Container declared; image: the image to run
        (for the instance image, its tag)."""
        self.container = container
        self.image = image
        self.container_name = container_name(run_id, name)
        self.run_id = run_id
        self.tools = tools
        self.log_dir = log_dir
        self.there = there
        self.container_pid = None
        super().__init__(name, **params)

    def startShell(self, mnopts=None):
        self.tools.run(self.there(run_argv(self.container_name, self.name, self.run_id, self.container, self.image)),
                       timeout=DOCKER_TIMEOUT)
        pid = self.tools.run(self.there([DOCKER, "inspect", "--format", "{{.State.Pid}}", self.container_name]),
                             timeout=DOCKER_TIMEOUT).strip()
        if pid in ("", "0"):
            raise HarnessError(f"the container of {self.name} ({self.image}) exited as soon as it started: "
                               f"see `docker logs {self.container_name}`")
        self.container_pid = int(pid)
        super().startShell(mnopts)

    def joined(self, cmd):
        """Mininet starts a host's shell as `mnexec -cdn bash ...`, n giving it a network
        namespace of its own: this host's shell joins the container's instead (on the
        container's server: a remote node's command is made into an ssh one after this)."""
        if self.shell is None and self.container_pid and cmd[0] == "mnexec":
            return ["nsenter", f"--net=/proc/{self.container_pid}/ns/net", cmd[0], cmd[1].replace("n", ""), *cmd[2:]]
        return cmd

    def _popen(self, cmd, **params):
        return super()._popen(self.joined(cmd), **params)

    def terminate(self):
        super().terminate()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.log_dir / "container.log").write_text(
            self.tools.run_all([(self.there([DOCKER, "logs", self.container_name]), None)], timeout=DOCKER_TIMEOUT)[0])
        self.tools.run(self.there([DOCKER, "rm", "--force", self.container_name]), check=False, timeout=DOCKER_TIMEOUT)


class MarkedLink(Link):
    """A Mininet veth link whose root-namespace ends carry the run's mark (their alias),
    set right after `ip link add`, before anything else happens to them."""

    def __init__(self, node1, node2, run_id=None, port_settings=None, **params):
        self.run_id = run_id
        self.port_settings = port_settings or {}    # for the switch end(s): see topology.Link
        super().__init__(node1, node2, **params)

    def makeIntfPair(self, intfname1, intfname2, addr1=None, addr2=None, node1=None, node2=None,
                     deleteIntfs=True):
        made = super().makeIntfPair(intfname1, intfname2, addr1, addr2, node1, node2, deleteIntfs)
        for name, node in ((intfname1, node1), (intfname2, node2)):
            if node is not None and not node.inNamespace:
                mark_interface(node, name, self.run_id)
        return made


class HarnessSwitch(OVSSwitch):
    """An Open vSwitch bridge created in one checked transaction and marked with its run."""

    def __init__(self, name, run_id, tools, controller_target=None, bridge_settings=None, **params):
        super().__init__(name, **params)
        self.bridge_settings = bridge_settings or {}     # other_config, see topology.Topology
        self.run_id = run_id
        self.tools = tools
        self.controller_target = controller_target

    def start(self, controllers):
        """Create the bridge with its ports, as ours; raise HarnessError if OVS refuses."""
        argv = ["ovs-vsctl", "--", "add-br", self.name,
                "--", "set", "Bridge", self.name,
                f"fail_mode={self.failMode}",
                f"datapath_type={DATAPATH_TYPES[self.datapath]}",
                f"other_config:datapath-id={self.dpid}",
                "other_config:disable-in-band=true",
                f"other_config:dp-desc={self.name}",
                *(f"external_ids:{key}={value}" for key, value in self.marks().items()),
                *(f"other_config:{key}={value}" for key, value in self.bridge_settings.items())]
        if self.controller_target:
            # (its inactivity probe is set once the switch is connected: Network.arm_controller_probes)
            argv += ["--", "--id=@controller", "create", "Controller", f'target="{self.controller_target}"',
                     "--", "set", "Bridge", self.name, "controller=@controller"]
        for intf in self.intfList():
            if self.ports[intf] and not intf.IP():
                argv += ["--", "add-port", self.name, intf.name,
                         "--", "set", "Interface", intf.name,
                         f"ofport_request={self.ports[intf]}"]
                settings = getattr(intf.link, "port_settings", {})
                if settings:
                    argv += ["--", "set", "Port", intf.name,
                             *(f"{name}={ovs_value(name, value)}" for name, value in settings.items())]
        self.tools.run(self.on_server(argv))
        # The bridge's own internal port is a new interface of the root namespace: ours too.
        if self.has_internal_port():
            mark_interface(self, self.name, self.run_id)
            sysctl(self, f"net/ipv6/conf/{self.name}/disable_ipv6", 1)

    def on_server(self, argv):
        """The argv that runs `argv` where this switch is (here; see RemoteHarnessSwitch)."""
        return argv

    def has_internal_port(self):
        """Whether the bridge's internal port is an interface (of this machine)."""
        return Path("/sys/class/net", self.name).exists()

    def marks(self):
        """The external_ids that mark the bridge as the run's."""
        return {RUN_ID_KEY: self.run_id}
