"""The check vocabulary: what an experiment expects of a step, in the words of the blog.

`lab.check.<name>(...)` adds a check to the current step. When the step's actions are done
the lab snapshots the switches and evaluates every check against that snapshot, taking new
snapshots until all pass or the check timeout ends: a condition is waited on, never slept
for, and the observed values are always those of the snapshot stored with the step.
"""
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .errors import HarnessError
from .snapshot import Snapshot


@dataclass
class Check:
    """One expectation: a name, why it should hold, the expected value and how to observe it.

    `expected_from`, when given, computes the expected value from the snapshot too (for a
    check that compares two observations, such as frames received and frames counted)."""
    name: str
    description: str
    expected: Any
    observe: Callable[[Snapshot], Any]
    expected_from: Optional[Callable[[Snapshot], Any]] = None
    observed: Any = None
    passed: bool = False

    def evaluate(self, snapshot):
        """Observe the value in `snapshot`; return whether it equals the expected one."""
        if self.expected_from:
            self.expected = self.expected_from(snapshot)
        self.observed = self.observe(snapshot)
        self.passed = self.observed == self.expected
        return self.passed


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
    hosts_by_mac maps a MAC address to its host's name (known once the network is built).
    Every check takes an optional `why`: the blog's explanation, kept as the check's
    description."""

    def __init__(self, network, add, hosts_by_mac=None):
        self._network = network
        self._add = add
        self._hosts_by_mac = hosts_by_mac or {}

    def _learned_hosts(self, snapshot, switch, by="switch"):
        """Return {host name: port} for the hosts whose MAC was learned on `switch`: by OVS
        itself (by="switch", its fdb) or by the controller app (by="controller")."""
        table = snapshot.fdb if by == "switch" else snapshot.controller_fdb
        return {self._hosts_by_mac[row["mac"]]: row["port"]
                for row in table[switch] if row["mac"] in self._hosts_by_mac}

    def _learner(self, switch, by):
        self._network.require_switch(switch)
        if by not in ("switch", "controller"):
            raise HarnessError(f"by must be \"switch\" or \"controller\", not {by!r}")
        return switch if by == "switch" else f"controller for {switch}"

    def flow_table_empty(self, switch, why=""):
        """The switch holds no flow, so it forwards nothing."""
        self._network.require_switch(switch)
        self._add(Check(f"{switch} flow table empty", why or f"{switch} has no flows", 0,
                        lambda snap: len(snap.flows[switch])))

    def flow_actions(self, switch, actions, why=""):
        """The switch holds exactly one flow per item of `actions`, with those actions."""
        self._network.require_switch(switch)
        expected = sorted(actions)
        self._add(Check(f"{switch} flows have actions {', '.join(expected)}",
                        why or f"{switch} holds exactly these flows", expected,
                        lambda snap: sorted(flow["actions"] for flow in snap.flows[switch])))

    def flow_present(self, switch, *, priority, match, actions, why=""):
        """The switch holds exactly one flow with this priority, match and actions."""
        self._network.require_switch(switch)
        label = _flow_label(priority, match, actions)
        self._add(Check(f"{switch} has flow {label}", why or f"{switch} holds the flow {label}", 1,
                        lambda snap: len(select_flows(snap.flows[switch], priority, match, actions))))

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
        self._add(Check(f"{switch} flow {label} counted {packets} packets", why or
                        f"packets counted by {label} during this step", packets, observe))

    def flows_count_every_frame(self, switch, why=""):
        """The flows' n_packets deltas add up to the frames that entered the switch during
        this step (port rx): every frame was counted by exactly one flow, none unexplained.
        Meant for single-table pipelines, where a frame meets exactly one flow."""
        self._network.require_switch(switch)
        def counted(snap):
            return sum(flow["n_packets"] - snap.before.packets_of(switch, flow)
                       for flow in snap.flows[switch])
        self._add(Check(f"{switch} flows counted every frame received",
                        why or "the flows' packet deltas add up to the frames the ports received",
                        None, counted,
                        expected_from=lambda snap: snap.received(switch) - snap.before.received(switch)))

    def trace_hits(self, switch, packet, *, priority, match="", why=""):
        """`ofproto/trace` of the packet labelled `packet` (see Lab.trace_ping) hit, first,
        the flow with this priority and match."""
        self._network.require_switch(switch)
        def observe(snap):
            traces = [trace for trace in snap.traces
                      if (trace["switch"], trace["packet"]) == (switch, packet)]
            return _flow_label(traces[-1]["priority"], traces[-1]["match"]) if traces else None
        self._add(Check(f"{switch} trace of {packet} hits {_flow_label(priority, match)}",
                        why or f"{packet} is forwarded by the flow {_flow_label(priority, match)}",
                        _flow_label(priority, match), observe))

    def mac_table_empty(self, switch, why="", by="switch"):
        """The MAC table holds none of the hosts (its own LOCAL port may be there).
        by="switch": OVS's table (fdb/show); by="controller": the controller app's."""
        learner = self._learner(switch, by)
        self._add(Check(f"{learner} MAC table holds no host", why or f"{learner} learned no host",
                        [], lambda snap: sorted(self._learned_hosts(snap, switch, by))))

    def mac_learned(self, switch, host, port, why="", by="switch"):
        """`host`'s MAC was learned on OpenFlow port `port` of `switch` (by OVS or the app)."""
        learner = self._learner(switch, by)
        self._network.require_host(host)
        self._add(Check(f"{learner} learned {host} on port {port}",
                        why or f"{host}'s MAC is in {learner}'s table on port {port}", port,
                        lambda snap: self._learned_hosts(snap, switch, by).get(host)))

    def mac_not_learned(self, switch, host, why="", by="switch"):
        """`host`'s MAC was not learned (observed: the port it was learned on)."""
        learner = self._learner(switch, by)
        self._network.require_host(host)
        self._add(Check(f"{learner} did not learn {host}",
                        why or f"{host}'s MAC is not in {learner}'s table", None,
                        lambda snap: self._learned_hosts(snap, switch, by).get(host)))

    def controller_counted(self, counter, count, why=""):
        """The controller app's `counter` (e.g. packet_ins) grew by exactly `count` in this
        step. A counter the app does not keep is an error, not a zero."""
        def observe(snap):
            if counter not in snap.controller_stats:
                known = ", ".join(sorted(snap.controller_stats)) or "none"
                raise HarnessError(f"the controller app keeps no counter {counter!r} (its counters: {known})")
            return snap.controller_stats[counter] - snap.before.controller_stats.get(counter, 0)
        self._add(Check(f"controller counted {count} {counter}", why or f"{counter} during this step",
                        count, observe))

    def every_mac_learned(self, switch, hosts, why=""):
        """`switch` (OVS) learned the MAC of every host in `hosts` (observed: those it did not)."""
        self._network.require_switch(switch)
        if not hosts:
            raise HarnessError(f"every_mac_learned({switch!r}, ...) was given no hosts: it would check nothing")
        for host in hosts:
            self._network.require_host(host)
        self._add(Check(f"{switch} learned all {len(hosts)} hosts", why or f"every host's MAC is in {switch}'s table",
                        [], lambda snap: [host for host in hosts if host not in self._learned_hosts(snap, switch)]))

    def frames_to_hosts(self, host_ports, count, why=""):
        """The switches sent exactly `count` frames to hosts in this step: the tx_packets
        growth of the ports in host_ports ({switch: [port numbers]}), summed."""
        for switch in host_ports:
            self._network.require_switch(switch)
        def observe(snap):
            return sum(snap.sent(switch, port) - snap.before.sent(switch, port)
                       for switch, ports in host_ports.items() for port in ports)
        self._add(Check(f"{', '.join(host_ports)} sent {count} frames to hosts", why or "frames delivered to hosts",
                        count, observe))

    def all_reachable(self, why=""):
        """Every host reached every other host in the step's reachability probe (observed:
        the pairs that did not, "src>dst")."""
        self._add(Check("every host reaches every other host", why or "all-pairs reachability", [],
                        lambda snap: [f"{row['src']}>{row['dst']}" for row in snap.reachability
                                      if not row["reachable"]] if snap.reachability else ["not probed"]))

    def ping_loss(self, src, dst, percent, why=""):
        """The step's last ping from src to dst lost `percent` % of its packets."""
        self._network.require_host(src)
        self._network.require_host(dst)
        def observe(snap):
            losses = [ping["loss"] for ping in snap.pings if (ping["src"], ping["dst"]) == (src, dst)]
            return losses[-1] if losses else None
        self._add(Check(f"{src} ping {dst} loses {percent:g}%",
                        why or f"{percent:g}% of {src}'s echo requests to {dst} got no reply",
                        float(percent), observe))
