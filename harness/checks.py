"""The check vocabulary: what an experiment expects of a step, in the words of the blog.

`lab.check.<name>(...)` adds a check to the current step. When the step's actions are done
the lab snapshots the switches and evaluates every check against that snapshot, taking new
snapshots until all pass or the check timeout ends: a condition is waited on, never slept
for, and the observed values are always those of the snapshot stored with the step.
"""
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .capture import BROADCAST
from .errors import HarnessError
from .snapshot import Snapshot


_NOT_GIVEN = object()


@dataclass
class Check:
    """One expectation: a name, why it should hold, the expected value and how to observe it.

    `expected_from`, when given, computes the expected value from the snapshot too (for a
    check that compares two observations, such as frames received and frames counted);
    `accept`, when given, decides whether the observed value passes (a range), `expected`
    then being its description."""
    name: str
    description: str
    expected: Any
    observe: Callable[[Snapshot], Any]
    expected_from: Optional[Callable[[Snapshot], Any]] = None
    accept: Optional[Callable[[Any], bool]] = None
    observed: Any = None
    passed: bool = False
    hop: str = ""           # for a check that a packet crossed a hop (CheckBook.crossed)
    direction: str = ""     # "request" or "reply", with hop

    def evaluate(self, snapshot):
        """Observe the value in `snapshot`; return whether it is the expected one."""
        if self.expected_from:
            self.expected = self.expected_from(snapshot)
        self.observed = self.observe(snapshot)
        self.passed = bool(self.accept(self.observed)) if self.accept else self.observed == self.expected
        return self.passed


def as_number(value):
    return f"{value:g}" if isinstance(value, (int, float)) else repr(value)


def _range_text(low, high):
    if high is None:
        return f"at least {low:g}"
    if low is None:
        return f"at most {high:g}"
    return f"{low:g} to {high:g}"


def _in_range(low, high):
    def accept(value):
        return isinstance(value, (int, float)) and value == value and \
            (low is None or value >= low) and (high is None or value <= high)
    return accept


def require_new_name(name, names, step):
    """Raise HarnessError if a check called `name` is among `names`, those of step `step`:
    two rows of the checks table that read the same could not be told apart."""
    if name in names:
        raise HarnessError(f"step {step!r} has two checks named {name!r}: give one a name of its own "
                           "(lab.check.that's name, or what the check is about)")


def select_flows(flows, priority=None, match=None, actions=None):
    """Return the flows whose priority, match and actions equal those given (None: any)."""
    return [flow for flow in flows
            if (priority is None or flow["priority"] == priority)
            and (match is None or flow["match"] == match)
            and (actions is None or flow["actions"] == actions)]


def _flow_label(priority=None, match=None, actions=None):
    words = [f"priority={priority}" if priority is not None else "", match or "",
             f"actions={actions}" if actions is not None else ""]
    return " ".join(word for word in words if word)


class CheckBook:
    """The checks an experiment can state; each adds one row to the run's checks table.

    network: the Wiring of the network the checks are about (hosts and switches they name
    must be in it: naming another is the experiment's bug, an error, never a check that
    passes because it looked at nothing); add(check) attaches a check to the current step;
    captured() returns the names of the capture points started so far. Every check takes
    an optional `why`: the blog's explanation, kept as the check's description.

    `that` is the check of an experiment's own: every other check here is written with it."""

    def __init__(self, network, add, captured=lambda: ()):
        self._network = network
        self._add = add
        self._captured = captured

    def that(self, name, observe, *, expected=_NOT_GIVEN, between=None, expected_from=None, why=""):
        """A check of your own: `observe(snapshot)` returns the observed value (see
        harness.snapshot.Snapshot for what a snapshot holds), which must equal `expected`,
        or lie in `between` (low, high; None for no bound), or equal what
        `expected_from(snapshot)` returns. It is evaluated when the step ends and waited on,
        as every check is."""
        if not isinstance(name, str) or not name.strip():
            raise HarnessError(f"a check needs a name, not {name!r}")
        if not callable(observe):
            raise HarnessError(f"check {name!r}: observe must be a function of the snapshot, not {observe!r}")
        given = [expected is not _NOT_GIVEN, between is not None, expected_from is not None]
        if sum(given) != 1:
            raise HarnessError(f"check {name!r} needs exactly one of expected, between and expected_from")
        accept = None
        if between is not None:
            low, high = between
            if (low is None and high is None) or any(not isinstance(bound, (int, float, type(None))) for bound in between):
                raise HarnessError(f"check {name!r}: between must be (low, high) numbers, one of them may be None")
            expected, accept = _range_text(low, high), _in_range(low, high)
        self._add(Check(name, why or name, None if expected is _NOT_GIVEN else expected, observe,
                        expected_from=expected_from, accept=accept))

    def _learned_hosts(self, snapshot, switch, by="switch"):
        """Return {host name: port} for the hosts whose MAC was learned on `switch`: by OVS
        itself (by="switch", its fdb, where a MAC is learned per VLAN) or by the controller
        app (by="controller")."""
        table = snapshot.fdb if by == "switch" else snapshot.controller_fdb
        learned = {}
        for row in table[switch]:
            for host in self._network.hosts_with_mac(row["mac"], row.get("vlan")):
                if by == "controller" or row.get("vlan", 0) == self._network.vlan_of(host):
                    learned[host] = row["port"]
        return learned

    def _learner(self, switch, by):
        self._network.require_switch(switch)
        if by not in ("switch", "controller"):
            raise HarnessError(f"by must be \"switch\" or \"controller\", not {by!r}")
        return switch if by == "switch" else f"controller for {switch}"

    def flow_table_empty(self, switch, why=""):
        """The switch holds no flow, so it forwards nothing."""
        self._network.require_switch(switch)
        self.that(f"{switch} flow table empty", lambda snap: len(snap.flows[switch]), expected=0,
                  why=why or f"{switch} has no flows")

    def flow_actions(self, switch, actions, why=""):
        """The switch holds exactly one flow per item of `actions`, with those actions."""
        self._network.require_switch(switch)
        expected = sorted(actions)
        self.that(f"{switch} flows have actions {', '.join(expected)}",
                  lambda snap: sorted(flow["actions"] for flow in snap.flows[switch]), expected=expected,
                  why=why or f"{switch} holds exactly these flows")

    def flow_present(self, switch, *, priority, match, actions, why=""):
        """The switch holds exactly one flow with this priority, match and actions."""
        self._network.require_switch(switch)
        label = _flow_label(priority, match, actions)
        self.that(f"{switch} has flow {label}",
                  lambda snap: len(select_flows(snap.flows[switch], priority, match, actions)), expected=1,
                  why=why or f"{switch} holds the flow {label}")

    def flow_packets(self, switch, packets, *, priority=None, match=None, actions=None, why=""):
        """The one flow selected by priority, match and actions counted exactly `packets`
        packets during this step (its n_packets delta)."""
        self._network.require_switch(switch)
        label = _flow_label(priority, match, actions)

        def observe(snap):
            flows = select_flows(snap.flows[switch], priority, match, actions)
            if len(flows) != 1:
                return f"{len(flows)} flows match"
            return flows[0]["n_packets"] - snap.before.packets_of(switch, flows[0])
        self.that(f"{switch} flow {label} counted {packets} packets", observe, expected=packets,
                  why=why or f"packets counted by {label} during this step")

    def flows_count_every_frame(self, switch, why=""):
        """The flows' n_packets deltas add up to the frames that entered the switch during
        this step (port rx): every frame was counted by exactly one flow, none unexplained.
        Meant for single-table pipelines, where a frame meets exactly one flow."""
        self._network.require_switch(switch)

        def counted(snap):
            return sum(flow["n_packets"] - snap.before.packets_of(switch, flow)
                       for flow in snap.flows[switch])
        self.that(f"{switch} flows counted every frame received", counted,
                  expected_from=lambda snap: snap.received(switch) - snap.before.received(switch),
                  why=why or "the flows' packet deltas add up to the frames the ports received")

    def trace_hits(self, switch, packet, *, priority, match="", why=""):
        """`ofproto/trace` of the packet labelled `packet` (see Lab.trace_ping) hit, first,
        the flow with this priority and match."""
        self._network.require_switch(switch)
        label = _flow_label(priority, match)

        def observe(snap):
            traces = [trace for trace in snap.traces
                      if (trace["switch"], trace["packet"]) == (switch, packet)]
            return _flow_label(traces[-1]["priority"], traces[-1]["match"]) if traces else None
        self.that(f"{switch} trace of {packet} hits {label}", observe, expected=label,
                  why=why or f"{packet} is forwarded by the flow {label}")

    def mac_table_empty(self, switch, why="", by="switch"):
        """The MAC table holds none of the hosts (its own LOCAL port may be there).
        by="switch": OVS's table (fdb/show); by="controller": the controller app's."""
        learner = self._learner(switch, by)
        self.that(f"{learner} MAC table holds no host", lambda snap: sorted(self._learned_hosts(snap, switch, by)),
                  expected=[], why=why or f"{learner} learned no host")

    def mac_learned(self, switch, host, port, why="", by="switch"):
        """`host`'s MAC was learned on OpenFlow port `port` of `switch` (by OVS or the app),
        in the host's VLAN."""
        learner = self._learner(switch, by)
        self._network.require_host(host)
        self.that(f"{learner} learned {host} on port {port}",
                  lambda snap: self._learned_hosts(snap, switch, by).get(host), expected=port,
                  why=why or f"{host}'s MAC is in {learner}'s table on port {port}")

    def mac_not_learned(self, switch, host, why="", by="switch"):
        """`host`'s MAC was not learned (observed: the port it was learned on)."""
        learner = self._learner(switch, by)
        self._network.require_host(host)
        self.that(f"{learner} did not learn {host}", lambda snap: self._learned_hosts(snap, switch, by).get(host),
                  expected=None, why=why or f"{host}'s MAC is not in {learner}'s table")

    def mac_table_size(self, switch, entries, why=""):
        """The switch's MAC table (fdb/show) holds exactly `entries` entries."""
        self._network.require_switch(switch)
        self.that(f"{switch} MAC table holds {entries} entries", lambda snap: len(snap.fdb[switch]),
                  expected=entries, why=why or f"{switch}'s MAC table has {entries} rows")

    def mac_table_counted(self, switch, counter, count, why=""):
        """The switch's MAC table counter (fdb/stats-show: learned, expired, evicted, moved)
        grew by exactly `count` during this step."""
        self._network.require_switch(switch)
        if counter not in ("learned", "expired", "evicted", "moved"):
            raise HarnessError(f"counter must be learned, expired, evicted or moved, not {counter!r}")
        self.that(f"{switch} MAC table {counter} {count}",
                  lambda snap: snap.fdb_stats[switch][counter] - snap.before.fdb_stats.get(switch, {}).get(counter, 0),
                  expected=count, why=why or f"entries {counter} by {switch} during this step")

    def controller_counted(self, counter, count, why=""):
        """The controller app's `counter` (e.g. packet_ins) grew by exactly `count` in this
        step. A counter the app does not keep is an error, not a zero."""
        def observe(snap):
            if counter not in snap.controller_stats:
                known = ", ".join(sorted(snap.controller_stats)) or "none"
                raise HarnessError(f"the controller app keeps no counter {counter!r} (its counters: {known})")
            return snap.controller_stats[counter] - snap.before.controller_stats.get(counter, 0)
        self.that(f"controller counted {count} {counter}", observe, expected=count,
                  why=why or f"{counter} during this step")

    def every_mac_learned(self, switch, hosts, why=""):
        """`switch` (OVS) learned the MAC of every host in `hosts` (observed: those it did not)."""
        self._network.require_switch(switch)
        if not hosts:
            raise HarnessError(f"every_mac_learned({switch!r}, ...) was given no hosts: it would check nothing")
        for host in hosts:
            self._network.require_host(host)
        def observe(snap):
            learned = self._learned_hosts(snap, switch)
            return [host for host in hosts if host not in learned]
        self.that(f"{switch} learned all {len(hosts)} hosts", observe, expected=[],
                  why=why or f"every host's MAC is in {switch}'s table")

    def frames_to_hosts(self, host_ports, count, why=""):
        """The switches sent exactly `count` frames to hosts in this step: the tx_packets
        growth of the ports in host_ports ({switch: [port numbers]}), summed."""
        for switch in host_ports:
            self._network.require_switch(switch)

        def observe(snap):
            return sum(snap.sent(switch, port) - snap.before.sent(switch, port)
                       for switch, ports in host_ports.items() for port in ports)
        self.that(f"{', '.join(host_ports)} sent {count} frames to hosts", observe, expected=count,
                  why=why or "frames delivered to hosts")

    def all_reachable(self, why=""):
        """Every host reached every other host in the step's reachability probe (observed:
        the pairs that did not, "src>dst")."""
        def observe(snap):
            if not snap.reachability:
                return ["not probed"]
            return [f"{row['src']}>{row['dst']}" for row in snap.reachability if not row["reachable"]]
        self.that("every host reaches every other host", observe, expected=[], why=why or "all-pairs reachability")

    def ping_loss(self, src, dst, percent, why=""):
        """The step's last ping from src to dst lost `percent` % of its packets."""
        self._network.require_host(src)
        self._network.require_host(dst)

        def observe(snap):
            losses = [ping["loss"] for ping in snap.pings if (ping["src"], ping["dst"]) == (src, dst)]
            return losses[-1] if losses else None
        self.that(f"{src} ping {dst} loses {percent:g}%", observe, expected=float(percent),
                  why=why or f"{percent:g}% of {src}'s echo requests to {dst} got no reply")

    def measured(self, name, expected=None, *, between=None, why=""):
        """The step's last measurement called `name` (Lab.measure) equals `expected`, or lies
        in `between` (low, high; None for no bound). Not measured fails."""
        def observe(snap):
            values = [row["value"] for row in snap.measurements if row["name"] == name]
            return values[-1] if values else None
        if between is None:
            self.that(f"{name} is {as_number(expected)}", observe, expected=float(expected),
                      why=why or f"the measurement {name}")
        else:
            self.that(f"{name} is {_range_text(*between)}", observe, between=between,
                      why=why or f"the measurement {name}")

    def moved(self, counter, by, *, name=None, why=""):
        """`counter` (harness.counters) moved by exactly `by` during the step."""
        self._require_counter(counter)
        self.that(name or f"{counter.label} moved by {by}", counter.moved, expected=by, why=why)

    def crossed(self, hop, packets, *, request=None, reply=None, why=""):
        """`packets` echo requests crossed hop `hop` ("1 VM > br-int") one way, as `request`
        (a counter, harness.counters) counts, and `packets` replies the other way, as
        `reply` counts: one check per counter given, with its hop and direction, which the
        report's hop table shows."""
        if request is None and reply is None:
            raise HarnessError(f"hop {hop!r}: give the counter of its request, of its reply, or both")
        for direction, counter in (("request", request), ("reply", reply)):
            if counter is not None:
                self._require_counter(counter)
                self._add(Check(f"hop {hop} {direction}: {counter.label}", why or f"{packets} {direction}s cross {hop}",
                                packets, counter.moved, hop=hop, direction=direction))

    def _require_counter(self, counter):
        from .counters import Counter
        if not isinstance(counter, Counter):
            raise HarnessError(f"not a counter of harness.counters: {counter!r}")
        if counter.bridge:
            self._network.require_bridge(counter.bridge)
        if counter.node and counter.node not in self._network.firewalls():
            raise HarnessError(f"{counter.label}: {counter.node} has no iptables rules of the experiment's "
                               "(lab.iptables), so its counters are not observed")

    def trace_shows(self, packet, *words, why=""):
        """The trace of `packet` (the name given to lab.trace) this step shows every one of
        `words` in its output (an action such as "set_tunnel:0x1", "strip_vlan")."""
        if not words:
            raise HarnessError(f"trace_shows {packet!r}: name what its output must show")

        def observe(snap):
            traces = [trace for trace in snap.traces if trace["packet"] == packet]
            if not traces:
                raise HarnessError(f"no trace of {packet!r} in this step (lab.trace names it)")
            return [word for word in words if word in traces[-1]["output"]]
        self.that(f"trace of {packet} shows {', '.join(words)}", observe, expected=list(words), why=why)

    def frames_seen(self, at, count=None, *, src=None, dst=None, kind=None, vlan=None, why=""):
        """Capture point `at` (see Lab.capture) saw exactly `count` frames (None: at least
        one) matching src, dst (a host's name, a MAC, or "broadcast"), kind ("arp request",
        "arp reply", "echo request", "echo reply", ... as in the frames table) and vlan
        (0: untagged), during this step."""
        label, observe = self._frames(at, src, dst, kind, vlan, plural=count != 1)
        if count is None:
            self.that(f"{at} saw {label}", observe, between=(1, None), why=why or f"{label} reached {at}")
        else:
            self.that(f"{at} saw {count} {label}", observe, expected=count,
                      why=why or f"{count} {label} reached {at}")

    def frames_not_seen(self, at, *, src=None, dst=None, kind=None, vlan=None, why=""):
        """Capture point `at` saw no frame matching src, dst, kind and vlan (as for
        frames_seen) during this step."""
        label, observe = self._frames(at, src, dst, kind, vlan, plural=False)
        self.that(f"{at} saw no {label}", observe, expected=0, why=why or f"no {label} reached {at}")

    def _frames(self, at, src, dst, kind, vlan, plural):
        """Return (a label of the frames, observe: their number at `at` in the step)."""
        if at not in self._captured():
            started = ", ".join(self._captured()) or "none"
            raise HarnessError(f"{at!r} is not captured (capture points so far: {started}); "
                               "start it with lab.capture before checking its frames")
        macs = {"src_mac": self._mac(src), "dst_mac": self._mac(dst)}
        if vlan is not None and (not isinstance(vlan, int) or not 0 <= vlan <= 4094):
            raise HarnessError(f"vlan must be a VLAN number from 0 (untagged) to 4094, not {vlan!r}")
        words = [(kind or "frame") + ("s" if plural else ""), f"from {src}" if src else "", f"to {dst}" if dst else "",
                 f"in VLAN {vlan}" if vlan else "untagged" if vlan == 0 else ""]
        label = " ".join(word for word in words if word)

        def observe(snap):
            return sum(1 for row in snap.step_frames(at)
                       if all(wanted is None or row[column] == wanted for column, wanted in macs.items())
                       and (kind is None or row["kind"] == kind) and (vlan is None or row["vlan"] == vlan))
        return label, observe

    def _mac(self, node):
        """The MAC address a frame from or to `node` (a host, a MAC, "broadcast") carries."""
        if node is None:
            return None
        if node == "broadcast":
            return BROADCAST
        if isinstance(node, str) and re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", node):
            return node
        self._network.require_host(node)
        return self._network.mac(node)
