"""The Mininet network of one run: built from an experiment's topology on Open vSwitch,
marked as ours, verified port by port, kept quiet, and always torn down.

Mininet's own classes do the work; three small subclasses change what a reproducible
experiment needs changed:
- `QuietIntf` turns IPv6 off on every interface before it comes up, so no neighbour
  discovery, router solicitation or MLD frame reaches a switch (they teach it MACs and
  inflate its counters);
- `QuietHost` shortens the ARP confirmation delay, so a step settles in about a second;
- `HarnessSwitch` creates its bridge in one checked `ovs-vsctl` transaction that marks the
  bridge as ours and never deletes a bridge of the same name (Mininet's does).
"""
import ipaddress
import json
import os
import time
from functools import partial
from pathlib import Path

from .errors import HarnessError
from .topology import Wiring
from .waiting import wait_until

RUN_ID_KEY = "ovs-harness-run"      # external_ids key on every bridge we create
DATAPATH_TYPES = {"kernel": "system", "user": "netdev"}
NEIGHBOUR_SYSCTLS = Path("/proc/sys/net/ipv4/neigh/default")


def mininet_classes():
    """Import Mininet; return (Mininet, Host, OVSSwitch, Intf) or explain how to install it."""
    try:
        from mininet.link import Intf
        from mininet.net import Mininet
        from mininet.node import Host, OVSSwitch
    except ImportError:
        raise HarnessError("Mininet is not installed for this Python: run `sudo ./setup.sh` "
                           "and use the project's .venv/bin/python") from None
    return Mininet, Host, OVSSwitch, Intf


def _sysctl(node, key, value):
    """Set one sysctl in node's namespace (key in slash form, safe for any interface name)."""
    out, err, code = node.pexec(["sysctl", "-q", "-w", f"{key}={value}"])
    if code:
        raise HarnessError(f"could not set {key} on {node.name}: {(err or out).strip()}")


def _network_classes():
    """Return the quiet host, quiet interface and harness switch classes built on Mininet's."""
    Mininet, Host, OVSSwitch, Intf = mininet_classes()

    class QuietIntf(Intf):
        """A Mininet interface that never sends IPv6: it is disabled before the link is up."""

        def config(self, **params):
            _sysctl(self.node, f"net/ipv6/conf/{self.name}/disable_ipv6", 1)
            return super().config(**params)

    class QuietHost(Host):
        """A Mininet host whose ARP cache confirms a stale neighbour after 1 s instead of 5 s.

        The same frames are sent either way; this only shortens the wait for a step to settle."""

        def config(self, **params):
            result = super().config(**params)
            for intf in self.intfNames():
                if intf != "lo":
                    _sysctl(self, f"net/ipv4/neigh/{intf}/delay_first_probe_time", 1)
            return result

    class HarnessSwitch(OVSSwitch):
        """An Open vSwitch bridge created in one checked transaction and marked with its run."""

        def __init__(self, name, run_id, tools, controller_target=None, **params):
            super().__init__(name, **params)
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
                    f"external_ids:{RUN_ID_KEY}={self.run_id}"]
            if self.controller_target:
                argv += ["--", "set-controller", self.name, self.controller_target]
            for intf in self.intfList():
                if self.ports[intf] and not intf.IP():
                    argv += ["--", "add-port", self.name, intf.name,
                             "--", "set", "Interface", intf.name,
                             f"ofport_request={self.ports[intf]}"]
            self.tools.run(argv)
            # The bridge's own internal port is a new interface of the root namespace.
            if Path(f"/proc/sys/net/ipv6/conf/{self.name}").exists():
                _sysctl(self, f"net/ipv6/conf/{self.name}/disable_ipv6", 1)

    return Mininet, QuietHost, QuietIntf, HarnessSwitch


class Network(Wiring):
    """A Mininet network for one run: `start` it, and `stop` it in a `finally`. As a Wiring,
    it also says what is linked to what."""

    def __init__(self, topo, datapath, run_id, tools, state, controller_target=None):
        """topo: a Mininet Topo; datapath: "kernel" or "user"; state: the run's RunState;
        controller_target: the OpenFlow controller every switch connects to, if any."""
        super().__init__(topo)
        self.datapath = datapath
        self.controller_target = controller_target
        self.run_id = run_id
        self.tools = tools
        self.state = state
        self.net = None
        self.port_names = {}    # switch name -> {"1": "s1-eth1", ..., "LOCAL": "s1"}
        self.build_seconds = None

    def root_interfaces(self):
        """Return the names of the interfaces this topology puts in the root namespace."""
        names = []
        for switch in self.topo.switches():
            names.append(switch)
            names += [f"{switch}-eth{port}" for port in sorted(self.topo.ports[switch])]
        return names

    def _refuse_foreign_names(self):
        """Raise HarnessError if a bridge or interface we are about to create exists already."""
        bridges = existing_bridges(self.tools)
        for switch in self.topo.switches():
            if switch not in bridges:
                continue
            if bridges[switch]:
                raise HarnessError(f"bridge {switch} is left over from run {bridges[switch]}: "
                                   "run `python -m harness clean` first")
            raise HarnessError(f"bridge {switch} already exists and is not ovs-harness's: "
                               f"remove it (ovs-vsctl del-br {switch}) or rename it")
        for name in self.root_interfaces():
            if Path("/sys/class/net", name).exists():
                raise HarnessError(f"network interface {name} already exists: run "
                                   "`python -m harness clean` if a run left it, or remove it")

    def start(self):
        """Build and start the network, then verify every switch port is attached. Sets
        build_seconds to the time all that took."""
        started = time.monotonic()
        Mininet, QuietHost, QuietIntf, HarnessSwitch = _network_classes()
        self._refuse_foreign_names()
        self.state.update(bridges=list(self.topo.switches()), interfaces=self.root_interfaces())
        self._make_room_for_neighbours()
        switch = partial(HarnessSwitch, run_id=self.run_id, tools=self.tools, datapath=self.datapath,
                         controller_target=self.controller_target)
        self.net = Mininet(topo=self.topo, switch=switch, host=QuietHost, intf=QuietIntf,
                           controller=None, autoSetMacs=True, build=False)
        try:
            self.net.build()
        finally:
            self.state.update(host_namespaces=[
                {"inode": os.stat(f"/proc/{host.pid}/ns/net").st_ino, "interfaces": host.intfNames()}
                for host in self.net.hosts if host.shell])
        self.net.start()
        for switch_name in self.topo.switches():
            self.port_names[switch_name] = self._verify_ports(switch_name)
        self.build_seconds = time.monotonic() - started

    def _make_room_for_neighbours(self):
        """Let every host hold an ARP entry for every other host at once.

        The kernel counts the ARP entries of all namespaces together and drops new ones past
        gc_thresh3 ("neighbor table overflow"): Mininet raises it to 16384, which all-pairs
        traffic among 128 or more hosts exceeds. Raise the thresholds as needed; the
        values they had are kept in the run state, and put back at teardown (or by clean)."""
        entries = len(self.topo.hosts()) ** 2
        wanted = {NEIGHBOUR_SYSCTLS / "gc_thresh1": entries // 4, NEIGHBOUR_SYSCTLS / "gc_thresh2": entries // 2,
                  NEIGHBOUR_SYSCTLS / "gc_thresh3": entries}
        raised = {path: value for path, value in wanted.items() if value > int(path.read_text())}
        self.state.update(sysctls={str(path): int(path.read_text()) for path in raised})
        for path, value in raised.items():
            path.write_text(str(value))

    def _verify_ports(self, switch):
        """Check OVS attached every port the topology gives `switch`, at the number asked.

        Returns {"1": "s1-eth1", ..., "LOCAL": "s1"}; raises HarnessError on any mismatch."""
        expected = {f"{switch}-eth{port}": port for port in self.topo.ports[switch]}
        listing = self.tools.run(["ovs-vsctl", "--format=json", "--columns=name,ofport,error",
                                  "list", "Interface", *expected])
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
        """Tear the network down with Mininet (what it leaves, cleanup removes)."""
        if self.net is not None:
            self.net.stop()
            self.net = None

    def host(self, name):
        """Return the Mininet host called `name`, or raise HarnessError listing the hosts."""
        if name not in self.topo.hosts():
            raise HarnessError(f"no host {name!r} in this topology (hosts: {', '.join(self.topo.hosts())})")
        return self.net[name]

    @staticmethod
    def broadcast_address(host):
        """Return the broadcast address of a Mininet host's subnet (10.255.255.255 in
        Mininet's default 10.0.0.0/8)."""
        intf = host.defaultIntf()
        return str(ipaddress.ip_interface(f"{intf.IP()}/{intf.prefixLen}").network.broadcast_address)

    def dpids(self):
        """Return {switch name: its OpenFlow datapath id}."""
        return {switch: int(self.net[switch].dpid, 16) for switch in self.switches()}

    def settle(self, timeout=10.0):
        """Wait until no host is resolving or confirming a neighbour (ARP in flight).

        An unresolved entry keeps retrying and a stale one sends a confirmation probe; both
        would add frames to the next step's counters. Returns the seconds waited."""
        busy_states = {"INCOMPLETE", "DELAY", "PROBE"}

        def quiet():
            # Every host at once: one after another took 0.7 s a poll with 254 hosts.
            listings = [self.net[name].popen(["ip", "-j", "neigh", "show"], text=True) for name in self.hosts()]
            states = set()
            for listing in listings:
                out, _err = listing.communicate()
                states.update(state for entry in json.loads(out or "[]") for state in entry.get("state", []))
            return not busy_states & states

        return wait_until(quiet, timeout, what="hosts to finish ARP")


def existing_bridges(tools):
    """Return {bridge name: the run id that created it, or None if ovs-harness did not}."""
    listing = json.loads(tools.run(["ovs-vsctl", "--format=json", "--columns=name,external_ids",
                                    "list", "Bridge"]))
    return {name: dict(external_ids[1]).get(RUN_ID_KEY) for name, external_ids in listing["data"]}
