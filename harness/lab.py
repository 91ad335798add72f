"""The lab an experiment works in: named steps, and in them traffic (harness.traffic),
flows (harness.flows), commands and port settings, packet captures (harness.capture),
observations (harness.observation) and checks (harness.checks) on one network.

Each step ends the same way: wait until no host has ARP in flight, snapshot every switch
(flows, MAC table, port counters), and evaluate the step's checks on that snapshot, taking
new snapshots until they hold or CHECK_TIMEOUT has passed.
"""
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import List, Optional

from . import traffic
from .checks import Check, CheckBook, require_new_name
from .containers import DOCKER
from .errors import HarnessError
from .observation import Observer
from .snapshot import Snapshot
from .waiting import poll_until

CHECK_TIMEOUT = 5.0     # seconds a step's checks may take to come true


def require_argument_list(argv):
    """Raise HarnessError unless argv is a non-empty list of words (never a shell string)."""
    if isinstance(argv, str) or not isinstance(argv, (list, tuple)) or not argv or \
            not all(isinstance(word, (str, int, float)) for word in argv):
        raise HarnessError(f"a command is a non-empty list of words, never a shell string: not {argv!r}")


@dataclass
class Step:
    """One step of a run: its checks and what its actions recorded, and the snapshot taken
    when it ended."""
    index: int
    name: str
    checks: List[Check] = field(default_factory=list)
    pings: List[dict] = field(default_factory=list)
    traces: List[dict] = field(default_factory=list)
    reachability: List[dict] = field(default_factory=list)
    measurements: List[dict] = field(default_factory=list)
    snapshot: Optional[Snapshot] = None
    finished: bool = False      # the body ran to its end and the checks were evaluated
    snapshot_count: int = 0     # snapshots taken until the checks came true (or time ran out)
    snapshot_seconds: float = 0.0   # what the kept snapshot cost: dumping and parsing every switch
    observe_problem: str = ""   # why no snapshot could be taken after the step failed

    @property
    def passed_count(self):
        return sum(check.passed for check in self.checks)


class Lab:
    """What an experiment's `run(lab)` uses. Attributes: `network` (what is linked to what),
    `flows` (add flows, see harness.flows), `check` (the check vocabulary, see
    harness.checks), `steps` (the steps so far), `configuration` (every port and bridge
    setting, and every move, as rows {step, switch, port, setting, value}), `build_seconds`,
    `datapath` ("user" or "kernel", for an expectation that depends on it).
    harness.plan.Plan has the same interface, for `describe` and the dry pass before a run."""

    # False here, True on the Plan: an experiment's `run` is called once on a Plan before
    # the network is built; what it does outside the lab (a file, a wait) goes under
    # `if not lab.planning:`.
    planning = False

    def __init__(self, network, tools, flows, captures, controller=None, on_step_end=lambda step: None,
                 progress=lambda text: None, meter=lambda what, done, total: None):
        """flows: the flow backend; captures: the run's harness.capture.Captures;
        controller: the run's controller app, if it has one, whose MAC table and counters
        are snapshotted with the switches; on_step_end(step) is called after every step,
        to record it; progress(text) and meter(what, done, total) tell the user how a long
        action is going."""
        self.network = network
        self.steps: List[Step] = []
        self.flows = flows
        self.configuration = [{"step": None, **row} for row in network.configuration()]
        self.check = CheckBook(network, self._add_check, lambda: list(captures.points))
        self._tools = tools
        self._captures = captures
        self._observer = Observer(network, tools, controller, captures)
        self._on_step_end = on_step_end
        self._progress = progress
        self._meter = meter

    @property
    def datapath(self):
        """The run's datapath: "user" (netdev) or "kernel" (system)."""
        return self.network.datapath

    @property
    def build_seconds(self):
        """The seconds the network took to build, start and verify."""
        return self.network.build_seconds

    def _add_check(self, check):
        step = self._current()
        require_new_name(check.name, [each.name for each in step.checks], step.name)
        step.checks.append(check)

    def _current(self):
        if not self.steps:
            raise HarnessError("checks and actions belong inside `with lab.step(...)`")
        return self.steps[-1]

    @contextmanager
    def step(self, name):
        """Run the body as the step called `name`, then snapshot and check it."""
        __tracebackhide__ = True    # for the pytest plugin: a failed step shows the test's line
        step = Step(index=len(self.steps) + 1, name=name)
        self.steps.append(step)
        self._tools.transcript.step = name
        try:
            yield step
            traffic.settle(self.network, self._tools)
            poll_until(lambda: self._evaluate(step), CHECK_TIMEOUT)
            step.finished = True
        finally:
            if step.snapshot is None:
                self._observe_after_failure(step)
            self._on_step_end(step)

    def _evaluate(self, step):
        """Take a new snapshot and evaluate every check of `step` on it; return all passed."""
        self._observe(step)
        return all([check.evaluate(step.snapshot) for check in step.checks])

    def _observe(self, step):
        """Snapshot every switch into `step.snapshot`."""
        earlier = [done.snapshot for done in self.steps[:-1] if done.snapshot is not None]
        step.snapshot, step.snapshot_seconds = self._observer.snapshot(
            before_step=earlier[-1] if earlier else None,
            pings=step.pings, traces=step.traces, reachability=step.reachability,
            measurements=step.measurements)
        step.snapshot_count += 1

    def _observe_after_failure(self, step):
        """Keep what the switches show when a step failed, if they still answer. Whatever
        goes wrong here must not replace why the step failed: it is only noted."""
        try:
            self._observe(step)
        except Exception as problem:
            step.observe_problem = f"{type(problem).__name__}: {problem}"

    def ping(self, src, dst, count=2, timeout=1, interval=1.0):
        """Ping dst from src (`src ping -c count dst`; `-i interval` when it is not 1 s);
        return the result (sent, received, loss, rtt_*), kept as a row of the step's pings."""
        row = traffic.ping(self.network, self._tools, src, dst, count, timeout, interval)
        self._current().pings.append(row)
        return row

    def tcp_syn(self, src, address, port):
        """Send exactly one TCP SYN from host src to `address`:`port`: a connection attempt
        that gives up before TCP would send the SYN again, so a counter sees one SYN. Returns
        "connected", or why not ("timed out", "Connection refused")."""
        return traffic.tcp_syn(self.network, self._tools, src, address, port)

    def reachability(self, timeout_ms=1000, resolve="arp", tries=3):
        """Ping every host from every other host, like Mininet's pingAll (see
        harness.traffic.reachability): resolve "arp" as hosts do, or "static" (every ARP
        entry filled first: nothing is flooded, for an experiment that does not study ARP); a
        pair whose reply did not come in time is probed again, waiting twice as long, up to
        `tries` attempts. Returns the rows {src, dst, reachable, tries}, kept with the step."""
        what = f"all-pairs probe of {len(self.network.hosts())} hosts"
        self._progress(f"{what}: started")
        started = time.monotonic()
        rows = traffic.reachability(self.network, self._tools, timeout_ms, resolve, tries,
                                    on_wave=lambda done, total: self._meter(what, done, total))
        retried = sum(row["tries"] > 1 and row["reachable"] for row in rows)
        self._progress(f"{what}: {time.monotonic() - started:.1f} s"
                       + (f", {retried} pair(s) answered on a later try" if retried else ""))
        self._current().reachability.extend(rows)
        return rows

    def announce_hosts(self, timeout=10.0):
        """Make every host send one broadcast frame, all at once; return the seconds until
        every switch had learned every host's MAC, or None after `timeout`."""
        return traffic.announce(self.network, self._tools, self.network.hosts(), self._learned,
                                self.network.switches(), timeout)

    def announce(self, host, learned_by=None, timeout=5.0):
        """Make `host` send one broadcast frame (as a hypervisor announces a VM that moved);
        return the seconds until every switch of `learned_by` (default: all) had learned its
        MAC in its VLAN, or None after `timeout`."""
        return traffic.announce(self.network, self._tools, [host], self._learned,
                                self.network.switches() if learned_by is None else list(learned_by), timeout)

    def _learned(self, switch):
        """{(MAC, VLAN)} of the entries in `switch`'s MAC table."""
        return {(entry["mac"], entry["vlan"]) for entry in self._observer.fdb(switch)}

    def wait_until_forgotten(self, switch, host, timeout):
        """Wait until `switch` has forgotten `host`'s MAC (it aged out), polling its MAC
        table; return the entry's idle lifetime in seconds: its age when the wait began
        plus the time waited, or None if it was still there after `timeout` seconds (a
        check on the value then fails). Raises HarnessError if the switch has not learned
        the MAC to begin with."""
        self.network.require_switch(switch)
        key = (self.network.mac(host), self.network.vlan_of(host))
        ages = [entry["age"] for entry in self._observer.fdb(switch) if (entry["mac"], entry["vlan"]) == key]
        if not ages:
            raise HarnessError(f"{switch} has not learned {host}, so there is nothing to forget")
        started = time.monotonic()
        if not poll_until(lambda: key not in self._learned(switch), timeout):
            return None
        return (ages[0] or 0) + time.monotonic() - started

    def run(self, node, argv, check=True, timeout=30):
        """Run `argv` (an argument list, never a shell string) on host `node`, in its
        namespace, or on switch `node` (in the root namespace of its server, where OVS's tools
        reach every bridge); return its output. It is kept in the transcript. check: a failure
        (non-zero exit) is an error of the run."""
        require_argument_list(argv)
        if node in self.network.hosts():
            return self._tools.run(argv, host=self.network.host(node), check=check, timeout=timeout)
        self.network.require_switch(node)
        return self._tools.run(self.network.on_server(node, argv), check=check, timeout=timeout)

    def run_in_container(self, host, argv, check=True, timeout=30):
        """Run `argv` inside container host `host`'s container (`docker exec`: with the
        image's file system and beside its processes, where `run` uses the machine's tools
        in the host's namespace); return its output, as `run` does."""
        require_argument_list(argv)
        self.network.require_container_host(host)
        return self._tools.run(self.network.on_server(host, [DOCKER, "exec", self.network.host(host).container_name,
                                                             *argv]), check=check, timeout=timeout)

    def configure_port(self, switch, port, **settings):
        """Set port `port` of `switch`: tag (its access VLAN), trunks (the VLANs it carries
        tagged), vlan_mode, as the Port table's columns; None clears one."""
        self.network.configure_port(switch, port, settings)
        self._configured(switch, port, settings)

    def configure_bridge(self, switch, other_config):
        """Set other_config keys of bridge `switch` ({"mac-aging-time": 15}); None removes one."""
        self.network.configure_bridge(switch, other_config)
        self._configured(switch, None, {f"other_config:{key}": value for key, value in other_config.items()})

    def move(self, host, switch, port):
        """Move `host`'s link to OpenFlow port `port` of `switch` (a station move, a VM
        migrating): its old port is deleted, so OVS forgets the MACs learned on it. To a
        switch of another server (--cluster), a tunnel carries the host's link there; that
        server's ovs-vswitchd deleted no port, so its switches keep what they learned
        (network.same_vswitchd says which case a move is)."""
        old_switch, old_port = self.network.move(host, switch, port)
        self._configured(switch, port, {"host": f"{host} (from {old_switch} port {old_port})"})

    def _configured(self, switch, port, settings):
        step = self.steps[-1].name if self.steps else None
        self.configuration += [{"step": step, "switch": switch, "port": port, "setting": name, "value": value}
                               for name, value in settings.items()]

    def add_bridge(self, node, bridge, fail_mode="secure"):
        """Make bridge `bridge` on OVS node `node` (a host with an Open vSwitch of its own,
        Topology(ovs_nodes=...)); return its name, "node/bridge", by which flows, ports,
        traces, counters and the run's tables know it. fail_mode "secure": it forwards by its
        flows only (Neutron's bridges); "standalone": as NORMAL while it has no flows."""
        name = self.network.add_node_bridge(node, bridge, fail_mode)
        self._configured(name, None, {"fail_mode": fail_mode})
        return name

    def add_port(self, bridge, port, *, tag=None, type=None, options=None, ofport=None):
        """Add port `port` to OVS node bridge `bridge` ("node/bridge"): the node's interface
        of that name (type None: a veth end, say), or an interface OVS makes: type "internal",
        or a tunnel, "gre", "vxlan" or "geneve" (options={"remote_ip": ..., "key": "flow"});
        patch ports are made in pairs by lab.patch; tag: its access VLAN;
        ofport: the OpenFlow port number it must get. Returns its OpenFlow port number."""
        number = self.network.add_port(bridge, port, tag, type, options, ofport)
        settings = {"port": port, "tag": tag, "type": type, **{f"options:{key}": value for key, value in (options or {}).items()}}
        self._configured(bridge, number, {key: value for key, value in settings.items() if value is not None})
        return number

    def patch(self, bridge1, port1, bridge2, port2, *, ofport1=None, ofport2=None):
        """Join two bridges of one OVS node with a pair of patch ports, `port1` on `bridge1`
        and `port2` on `bridge2` (Neutron's patch-tun and patch-int), made in one transaction;
        ofport1/ofport2: the OpenFlow port numbers they must get. Returns the two numbers."""
        numbers = self.network.patch(bridge1, port1, bridge2, port2, ofport1, ofport2)
        for bridge, port, number, peer in ((bridge1, port1, numbers[0], port2), (bridge2, port2, numbers[1], port1)):
            self._configured(bridge, number, {"port": port, "type": "patch", "options:peer": peer})
        return numbers

    def linux_bridge(self, node, name, ports):
        """Make Linux bridge `name` in host `node` with interfaces `ports` (Neutron's qbr...)."""
        self.network.linux_bridge(node, name, ports)
        self._configured(node, None, {"linux bridge": f"{name}: {', '.join(ports)}"})

    def veth(self, node, name1, name2):
        """Make the veth pair `name1`-`name2` in host `node` (Neutron's qvb.../qvo...), up."""
        self.network.veth(node, name1, name2)
        self._configured(node, None, {"veth": f"{name1}-{name2}"})

    def address(self, node, interface, address):
        """Give `interface` of host `node` the address `address` ("172.16.0.11/24"), and bring it up."""
        self.network.address(node, interface, address)
        self._configured(node, None, {"address": f"{interface} {address}"})

    def iptables(self, node, rule, table="filter"):
        """Add an iptables rule in host `node`: `rule` is iptables's arguments after the table
        (["-A", "FORWARD", "-j", "DROP"], or ["-N", "chain"]). From now on every snapshot
        holds the node's iptables counters and conntrack entries (harness.counters reads them)."""
        self.network.firewall(node, rule, table)
        self._configured(node, None, {f"iptables -t {table}": " ".join(map(str, rule))})

    def trace(self, bridge, flow, packet):
        """Ask `bridge` what it would do with `flow` (`ovs-appctl ofproto/trace` syntax; no
        packet is sent); `packet` names the trace ("vma > ext echo request") for its row of
        the run's traces table and for lab.check.trace_shows. Returns the row."""
        self.network.require_bridge(bridge)
        row = self._observer.trace(bridge, flow, packet)
        self._current().traces.append(row)
        return row

    def capture(self, node, port=None, via=None):
        """Capture frames from now to the end of the run: at host `node` (those delivered
        to it), or at port `port` of switch `node` (those the switch sends out of it; via:
        "tcpdump" on its interface, or "mirror" for a port tcpdump cannot see). Returns the
        capture point's name (the host's, or the port's interface name), which the frame
        checks and the run's `frames` table use."""
        point = self.network.capture_point(node, port, via)
        elsewhere = self.network.elsewhere(point)
        self._captures.start(point, self.network.host(point.host) if point.host and not elsewhere else None,
                             elsewhere)
        return point.name

    def static_arp(self):
        """Give every host a permanent ARP entry for every other host, so no ARP frame is sent."""
        traffic.static_arp(self.network, self._tools)

    def trace_ping(self, switch, src, dst):
        """Trace one echo request from src to dst and its reply through `switch` with
        `ovs-appctl ofproto/trace` (no packet is sent); return the two rows, kept with the step."""
        rows = self._observer.trace_ping(switch, src, dst)
        self._current().traces.extend(rows)
        return rows

    def measure(self, name, value, unit=""):
        """Record a measurement of this step (a row of the run's `measurements` table:
        name, value, unit; None, for something that could not be measured, is NaN); return value."""
        self._current().measurements.append({"name": name, "value": float("nan") if value is None else float(value),
                                             "unit": unit})
        return value
