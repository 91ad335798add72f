"""The lab an experiment works in: named steps, traffic, flows and checks on one network.

Each step ends the same way: wait until no host has ARP in flight, snapshot every switch
(flows, MAC table, port counters), and evaluate the step's checks on that snapshot.
"""
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import List, Optional

from .checks import Check, CheckBook, Snapshot
from .errors import HarnessError
from .parsers import parse_fdb, parse_flows, parse_fping, parse_ping, parse_ports, parse_trace
from .waiting import poll_until

CHECK_TIMEOUT = 5.0     # seconds a step's checks may take to come true
# The flooding one wave of reachability probes may ask of the switches at once, counted in
# frame copies; a switch handling a broadcast at all costs about SWITCH_COST copies more.
# Measured on the userspace datapath: 16 sources of 128 hosts on one switch, or 8 of a
# linear chain of 32 switches with 2 hosts each, probing all others, drop nothing; twice
# as many drop broadcasts.
FLOOD_BUDGET = 320_000
SWITCH_COST = 32


@dataclass
class Step:
    """One step of a run: its checks and pings, and the snapshot taken when it ended."""
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


def require_ping_arguments(count, interval):
    """Raise HarnessError unless count and interval (seconds) are ones ping takes as root."""
    if not isinstance(count, int) or count < 1:
        raise HarnessError(f"ping count must be a whole number of at least 1, not {count!r}")
    if not isinstance(interval, (int, float)) or not 0.01 <= interval <= 60:
        raise HarnessError(f"ping interval must be from 0.01 to 60 seconds, not {interval!r}")


class Lab:
    """What an experiment's `run(lab)` uses. Attributes: `network` (what is linked to what),
    `flows` (add flows, see harness.flows), `check` (the check vocabulary, see
    harness.checks), `steps` (the steps so far), `build_seconds`. harness.plan.Plan has the
    same interface, for `describe` and the dry pass before a run."""

    # False here, True on the Plan: an experiment's `run` is called once on a Plan before
    # the network is built; what it does outside the lab (a file, a wait) goes under
    # `if not lab.planning:`.
    planning = False

    def __init__(self, network, tools, flows, controller=None, on_step_end=lambda step: None):
        """flows: the flow backend; controller: the run's controller app, if it has one,
        whose MAC table and counters are snapshotted with the switches; on_step_end(step)
        is called after every step, to record it."""
        self.network = network
        self._tools = tools
        self.steps: List[Step] = []
        self.flows = flows
        self._controller = controller
        self.check = CheckBook(network, lambda check: self._current().checks.append(check),
                               network.hosts_by_mac())
        self._on_step_end = on_step_end
        # Frames received per switch when flow counters were last brought up to date.
        self._received_when_counted = {switch: 0 for switch in network.switches()}

    @property
    def build_seconds(self):
        """The seconds the network took to build, start and verify."""
        return self.network.build_seconds

    def _current(self):
        if not self.steps:
            raise HarnessError("checks and pings belong inside `with lab.step(...)`")
        return self.steps[-1]

    @contextmanager
    def step(self, name):
        """Run the body as the step called `name`, then snapshot and check it."""
        step = Step(index=len(self.steps) + 1, name=name)
        self.steps.append(step)
        self._tools.transcript.step = name
        try:
            yield step
            self.network.settle()
            poll_until(lambda: self._evaluate(step), CHECK_TIMEOUT)
            step.finished = True
        finally:
            if step.snapshot is None:
                self._observe_after_failure(step)
            self._on_step_end(step)

    def _evaluate(self, step):
        """Take a new snapshot and evaluate every check of `step` on it; return all passed."""
        snapshot = self._observe(step)
        return all([check.evaluate(snapshot) for check in step.checks])

    def _observe(self, step):
        """Snapshot every switch into `step.snapshot` and return it."""
        started = time.perf_counter()
        snapshot = Snapshot(pings=list(step.pings), traces=list(step.traces),
                            reachability=list(step.reachability), previous=self._last_snapshot())
        for switch in self.network.switches():
            snapshot.ports[switch] = parse_ports(self._tools.run(["ovs-ofctl", "dump-ports", switch]),
                                                 self.network.port_names[switch])
            snapshot.fdb[switch] = self._fdb(switch)
        self._dump_flows(snapshot)
        if self._controller:
            self._observe_controller(snapshot)
        received = {switch: snapshot.received(switch) for switch in self.network.switches()}
        if received != self._received_when_counted:
            self._received_when_counted = received
            if any(snapshot.flows.values()):
                # Packets forwarded by datapath flows reach their OpenFlow flow's n_packets
                # only when a revalidator passes over them: wait for a pass, then read again.
                self._tools.run(["ovs-appctl", "revalidator/wait"])
                self._dump_flows(snapshot)
        step.snapshot = snapshot
        step.snapshot_count += 1
        step.snapshot_seconds = time.perf_counter() - started
        return snapshot

    def _observe_controller(self, snapshot):
        """Add the controller app's MAC table and counters to the snapshot."""
        self._controller.check_alive()
        names = {dpid: switch for switch, dpid in self.network.dpids().items()}
        for switch in self.network.switches():
            snapshot.controller_fdb[switch] = []
        for entry in self._controller.request("mac_table"):
            switch = names[entry["dpid"]]
            snapshot.controller_fdb[switch].append({
                "port": entry["port"], "port_name": self.network.port_names[switch].get(str(entry["port"]), ""),
                "mac": entry["mac"]})
        snapshot.controller_stats = self._controller.request("stats")

    def _fdb(self, switch):
        """Return the parsed rows of `ovs-appctl fdb/show switch`."""
        try:
            return parse_fdb(self._tools.run(["ovs-appctl", "fdb/show", switch]), self.network.port_names[switch])
        except ValueError as unreadable:
            raise HarnessError(f"{switch}: {unreadable}") from None

    def _last_snapshot(self):
        """The snapshot of the latest earlier step that has one, or None."""
        earlier = [step.snapshot for step in self.steps[:-1] if step.snapshot is not None]
        return earlier[-1] if earlier else None

    def _dump_flows(self, snapshot):
        for switch in self.network.switches():
            snapshot.flows[switch] = parse_flows(self._tools.run(["ovs-ofctl", "dump-flows", switch]))

    def _observe_after_failure(self, step):
        """Keep what the switches show when a step failed, if they still answer. Whatever
        goes wrong here must not replace why the step failed: it is only noted."""
        try:
            self._observe(step)
        except Exception as problem:
            step.observe_problem = f"{type(problem).__name__}: {problem}"

    def ping(self, src, dst, count=2, timeout=1, interval=1.0):
        """Ping dst's IP address from src (`src ping -c count dst`, with `-i interval` when
        it is not ping's default second); return the parsed result.

        The result (sent, received, loss, rtt_*) is kept as a row of the step's pings."""
        require_ping_arguments(count, interval)
        source, target = self.network.host(src), self.network.host(dst)
        spacing = [] if interval == 1 else ["-i", f"{interval:g}"]
        output = self._tools.run(["ping", "-c", count, *spacing, "-W", timeout, target.IP()],
                                 host=source, check=False, timeout=count * interval + timeout + 10)
        row = {"src": src, "dst": dst, **parse_ping(output)}
        self._current().pings.append(row)
        return row

    def reachability(self, timeout_ms=1000):
        """Ping every host from every other host, like Mininet's pingAll, with one `fping`
        per source host and many sources at once; return the rows {src, dst, reachable},
        kept with the step.

        Sources go in waves: each source's first echo requests start ARP broadcasts, one
        per destination, that every switch handles and sends out of every port, and a wave
        must stay within FLOOD_BUDGET, or the switches drop broadcasts and a reachable pair
        looks unreachable (seen from 128 hosts on one switch, all probing at once)."""
        hosts = self.network.hosts()
        ips = {name: self.network.host(name).IP() for name in hosts}
        broadcast_cost = self.network.port_count() + SWITCH_COST * len(self.network.switches())
        wave = max(1, FLOOD_BUDGET // max(1, (len(hosts) - 1) * broadcast_cost))
        rows = []
        for first in range(0, len(hosts), wave):
            sources = hosts[first:first + wave]
            commands = [(["fping", "-c", "1", "-t", timeout_ms, "-q", *(ips[dst] for dst in hosts if dst != src)],
                         self.network.host(src)) for src in sources]
            for src, output in zip(sources, self._tools.run_all(commands, timeout=timeout_ms / 1000 + 60)):
                answered = parse_fping(output)
                rows += [{"src": src, "dst": dst, "reachable": answered.get(ips[dst], (0, 0))[1] > 0}
                         for dst in hosts if dst != src]
        self._current().reachability.extend(rows)
        return rows

    def measure(self, name, value, unit=""):
        """Record a measurement of this step (a row of the run's `measurements` table:
        name, value, unit; None, for something that could not be measured, is NaN); return value."""
        self._current().measurements.append({"name": name, "value": float("nan") if value is None else float(value),
                                             "unit": unit})
        return value

    def announce_hosts(self, timeout=10.0):
        """Make every host send one broadcast frame, all at once: an echo request to its
        subnet's broadcast address, which hosts do not answer (Linux ignores broadcast
        pings). Returns the seconds from sending until every switch had learned every
        host's MAC, or None if that took more than `timeout`."""
        hosts = [self.network.host(name) for name in self.network.hosts()]
        macs = {host.MAC() for host in hosts}
        started = time.monotonic()
        pings = self._tools.start_all([(["ping", "-b", "-c", "1", "-W", "1", self.network.broadcast_address(host)],
                                       host) for host in hosts])

        def every_switch_learned_every_host():
            return all(macs <= {entry["mac"] for entry in self._fdb(switch)} for switch in self.network.switches())

        learned = poll_until(every_switch_learned_every_host, timeout)
        seconds = time.monotonic() - started
        self._tools.finish_all(pings)
        return seconds if learned else None

    def trace_ping(self, switch, src, dst):
        """Trace one echo request from src to dst and its reply through `switch` with
        `ovs-appctl ofproto/trace` (no packet is sent); return the two trace rows.

        Each row names the packet ("h1 > h3 echo request"), the OpenFlow flow it hit first,
        and the trace's full output, and is kept with the step."""
        rows = []
        for source, target, kind, icmp_type in ((src, dst, "echo request", 8), (dst, src, "echo reply", 0)):
            sender, receiver = self.network.host(source), self.network.host(target)
            packet = (f"in_port={self.network.port_of(source, switch)},icmp,"
                      f"dl_src={sender.MAC()},dl_dst={receiver.MAC()},"
                      f"nw_src={sender.IP()},nw_dst={receiver.IP()},icmp_type={icmp_type},icmp_code=0")
            output = self._tools.run(["ovs-appctl", "ofproto/trace", switch, packet])
            rows.append({"switch": switch, "packet": f"{source} > {target} {kind}", "flow": packet,
                         **parse_trace(output), "output": output})
        self._current().traces.extend(rows)
        return rows

    def static_arp(self):
        """Give every host a permanent ARP entry for every other host, so no ARP frame is sent."""
        for src in self.network.hosts():
            host = self.network.host(src)
            for dst in self.network.hosts():
                if dst != src:
                    peer = self.network.host(dst)
                    self._tools.run(["ip", "neigh", "replace", peer.IP(), "lladdr", peer.MAC(),
                                    "dev", host.defaultIntf().name, "nud", "permanent"], host=host)
