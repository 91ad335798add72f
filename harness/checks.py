"""The check vocabulary: what an experiment expects of a step, in the words of the blog.

`lab.check.<name>(...)` adds a check to the current step. When the step's actions are done
the lab snapshots the switches and evaluates every check against that snapshot, taking new
snapshots until all pass or the check timeout ends: a condition is waited on, never slept
for, and the observed values are always those of the snapshot stored with the step.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List


@dataclass
class Snapshot:
    """What the switches showed at the end of a step, and the step's pings.

    flows, fdb and ports map a switch name to the parsed rows of
    `ovs-ofctl dump-flows`, `ovs-appctl fdb/show` and `ovs-ofctl dump-ports`."""
    flows: Dict[str, List[dict]] = field(default_factory=dict)
    fdb: Dict[str, List[dict]] = field(default_factory=dict)
    ports: Dict[str, List[dict]] = field(default_factory=dict)
    pings: List[dict] = field(default_factory=list)


@dataclass
class Check:
    """One expectation: a name, why it should hold, the expected value and how to observe it."""
    name: str
    description: str
    expected: Any
    observe: Callable[[Snapshot], Any]
    observed: Any = None
    passed: bool = False

    def evaluate(self, snapshot):
        """Observe the value in `snapshot`; return whether it equals the expected one."""
        self.observed = self.observe(snapshot)
        self.passed = self.observed == self.expected
        return self.passed


class CheckBook:
    """The checks an experiment can state; each adds one row to the run's checks table.

    hosts_by_mac maps a MAC address to its host's name; add(check) attaches a check to the
    current step. Every check takes an optional `why`: the blog's explanation, kept as the
    check's description."""

    def __init__(self, hosts_by_mac, add):
        self._hosts_by_mac = hosts_by_mac
        self._add = add

    def _learned_hosts(self, snapshot, switch):
        """Return {host name: port} for the hosts whose MAC `switch` has learned."""
        return {self._hosts_by_mac[row["mac"]]: row["port"]
                for row in snapshot.fdb[switch] if row["mac"] in self._hosts_by_mac}

    def flow_table_empty(self, switch, why=""):
        """The switch holds no flow, so it forwards nothing."""
        self._add(Check(f"{switch} flow table empty", why or f"{switch} has no flows", 0,
                        lambda snap: len(snap.flows[switch])))

    def flow_actions(self, switch, actions, why=""):
        """The switch holds exactly one flow per item of `actions`, with those actions."""
        expected = sorted(actions)
        self._add(Check(f"{switch} flows have actions {', '.join(expected)}",
                        why or f"{switch} holds exactly these flows", expected,
                        lambda snap: sorted(flow["actions"] for flow in snap.flows[switch])))

    def mac_table_empty(self, switch, why=""):
        """The switch's MAC table holds none of the hosts (its own LOCAL port may be there)."""
        self._add(Check(f"{switch} MAC table holds no host", why or f"{switch} learned no host",
                        [], lambda snap: sorted(self._learned_hosts(snap, switch))))

    def mac_learned(self, switch, host, port, why=""):
        """The switch has learned `host`'s MAC on OpenFlow port `port`."""
        self._add(Check(f"{switch} learned {host} on port {port}",
                        why or f"{host}'s MAC is in {switch}'s table on port {port}", port,
                        lambda snap: self._learned_hosts(snap, switch).get(host)))

    def mac_not_learned(self, switch, host, why=""):
        """The switch has not learned `host`'s MAC (observed: the port it did learn it on)."""
        self._add(Check(f"{switch} did not learn {host}", why or f"{host}'s MAC is not in "
                        f"{switch}'s table", None,
                        lambda snap: self._learned_hosts(snap, switch).get(host)))

    def ping_loss(self, src, dst, percent, why=""):
        """The step's last ping from src to dst lost `percent` % of its packets."""
        def observe(snap):
            losses = [ping["loss"] for ping in snap.pings if (ping["src"], ping["dst"]) == (src, dst)]
            return losses[-1] if losses else None
        self._add(Check(f"{src} ping {dst} loses {percent:g}%",
                        why or f"{percent:g}% of {src}'s echo requests to {dst} got no reply",
                        float(percent), observe))
