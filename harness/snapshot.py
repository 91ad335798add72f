"""What the switches showed at the end of a step: the data model that observation fills,
checks read and the results flatten into tables."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class Snapshot:
    """What the switches showed at the end of a step, with the step's pings and traces.

    flows, fdb and ports map a switch name to the parsed rows of `ovs-ofctl dump-flows`,
    `ovs-appctl fdb/show` and `ovs-ofctl dump-ports`; fdb_stats maps it to the MAC
    table's counts (harness.parsers.parse_fdb_stats); controller_fdb and controller_stats
    are the controller app's MAC table (per switch) and counters, for runs with one;
    frames maps a capture point (Lab.capture) to the rows of every frame it saw so far
    (step_frames gives this step's); iptables and conntrack map a host with rules of the
    experiment's (Lab.iptables) to the rows of `iptables-save -c` and `conntrack -L`
    (harness.parsers); bridges are switches and OVS nodes' "node/bridge" alike; pings, traces, reachability and measurements are the
    step's own rows; `before_step` is the snapshot of the step before (None for the first), against which
    counter deltas are taken."""
    flows: Dict[str, List[dict]] = field(default_factory=dict)
    fdb: Dict[str, List[dict]] = field(default_factory=dict)
    fdb_stats: Dict[str, Dict[str, int]] = field(default_factory=dict)
    ports: Dict[str, List[dict]] = field(default_factory=dict)
    pings: List[dict] = field(default_factory=list)
    traces: List[dict] = field(default_factory=list)
    reachability: List[dict] = field(default_factory=list)
    measurements: List[dict] = field(default_factory=list)
    frames: Dict[str, List[dict]] = field(default_factory=dict)
    iptables: Dict[str, List[dict]] = field(default_factory=dict)
    conntrack: Dict[str, List[dict]] = field(default_factory=dict)
    controller_fdb: Dict[str, List[dict]] = field(default_factory=dict)
    controller_stats: Dict[str, int] = field(default_factory=dict)
    before_step: Optional["Snapshot"] = None

    @property
    def before(self):
        """What the counters were before this step: the snapshot of the step before, or an
        empty one before the first step (every count 0)."""
        return self.before_step or Snapshot()

    def step_frames(self, point):
        """The frames capture point `point` saw during this step."""
        return self.frames.get(point, [])[len(self.before.frames.get(point, [])):]

    def received(self, switch):
        """Frames all ports of `switch` had received."""
        return sum(port["rx_packets"] or 0 for port in self.ports.get(switch, []))

    def sent(self, switch, port):
        """Frames port number `port` of `switch` had sent (0 if it has no such port)."""
        rows = [row for row in self.ports.get(switch, []) if row["port"] == port]
        return rows[0]["tx_packets"] or 0 if rows else 0

    def packets_of(self, switch, flow):
        """n_packets of the flow with `flow`'s table, priority and match (0 if it has none)."""
        same = [other for other in self.flows.get(switch, [])
                if (other["table"], other["priority"], other["match"]) ==
                (flow["table"], flow["priority"], flow["match"])]
        return same[0]["n_packets"] if same else 0
