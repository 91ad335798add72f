"""Counters an experiment follows from step to step, to prove where a packet went: the
packets a bridge's flow table counted, a port sent or received, an iptables rule matched,
and the connections conntrack holds. Each is read from a snapshot (harness.snapshot); the
checks `lab.check.moved` and `lab.check.crossed` compare how far one moved during a step.

A counter that names something the snapshot does not have (a port the bridge lacks, a rule
no chain holds) is an error when read, never a count of 0: a misspelt name must not pass
a check that expects nothing to have crossed.
"""
from dataclasses import dataclass
from typing import Callable

from .errors import HarnessError


@dataclass(frozen=True)
class Counter:
    """A count read from a snapshot: `label` says what it counts ("compute/br-tun table 22"),
    `bridge` or `node` what it belongs to (checked when a check is stated), `read(snapshot)`
    the count."""
    label: str
    read: Callable
    bridge: str = ""
    node: str = ""

    def __call__(self, snapshot):
        try:
            return self.read(snapshot)
        except KeyError:
            raise HarnessError(f"{self.label}: the snapshot has no {self.bridge or self.node}") from None

    def moved(self, snapshot):
        """How much the count grew during the snapshot's step: from the step before's value,
        or from 0 when what it counts (its bridge or node, the flow, port or rule) did not
        exist yet. It must exist now: a misspelt name is still an error."""
        now = self(snapshot)
        try:
            return now - self(snapshot.before)
        except HarnessError:    # made during this step
            return now


def _require(rows, what, where):
    if not rows:
        raise HarnessError(f"{where} has no {what}")
    return rows


def table_packets(bridge, table):
    """The packets `bridge`'s flow table `table` counted (the sum of its flows' n_packets)."""
    return Counter(f"{bridge} table {table}", lambda snap: sum(
        flow["n_packets"] for flow in _require([flow for flow in snap.flows[bridge] if flow["table"] == table],
                                               f"flow in table {table}", bridge)), bridge=bridge)


def flow_packets(bridge, table, match):
    """The packets counted by `bridge`'s flow of table `table` whose match is `match`
    (as dump-flows writes it, priority included: "priority=1,tun_id=0x1")."""
    def read(snap):
        flows = [flow for flow in snap.flows[bridge]
                 if flow["table"] == table and f"priority={flow['priority']}" + (f",{flow['match']}" if flow["match"] else "") == match]
        return _require(flows, f"flow {match!r} in table {table}", bridge)[0]["n_packets"]
    return Counter(f"{bridge} table {table} {match}", read, bridge=bridge)


def port_packets(bridge, port, direction):
    """The packets port `port` (its name) of `bridge` received (direction "rx") or sent ("tx")."""
    if direction not in ("rx", "tx"):
        raise HarnessError(f"a port counter's direction is \"rx\" or \"tx\", not {direction!r}")

    def read(snap):
        rows = _require([row for row in snap.ports[bridge] if row["port_name"] == port], f"port {port}", bridge)
        return rows[0][f"{direction}_packets"] or 0
    return Counter(f"{bridge} {port} {direction}", read, bridge=bridge)


def rule_packets(node, chain, rule, table="filter"):
    """The packets matched by the iptables rule of `node`'s `chain` whose text (as
    iptables-save writes it after `-A CHAIN`) contains `rule`; "" for the chain's first."""
    def read(snap):
        rows = [row for row in snap.iptables[node]
                if row["table"] == table and row["chain"] == chain and rule in row["rule"]]
        return _require(rows, f"rule with {rule!r} in {table} chain {chain}", node)[0]["packets"]
    return Counter(f"{node} {chain} {rule}".strip(), read, node=node)


def connections(node, **fields):
    """The connections conntrack holds in `node` whose fields (harness.parsers.parse_conntrack:
    protocol, src, dst, reply_src, reply_dst, ...) have the values given."""
    described = " ".join(f"{key}={value}" for key, value in fields.items())
    return Counter(f"{node} conntrack {described}".strip(), lambda snap: sum(
        all(str(entry.get(key)) == str(value) for key, value in fields.items())
        for entry in snap.conntrack[node]), node=node)
