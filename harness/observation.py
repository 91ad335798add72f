"""Observation: what the switches show, read without changing it. A snapshot is every
bridge's flow table (`ovs-ofctl dump-flows`), MAC table (`ovs-appctl fdb/show`, with the
counts of fdb/stats-show) and port counters (`ovs-ofctl dump-ports`), the switches' and the
OVS nodes' bridges alike; the iptables counters (`iptables-save -c`) and conntrack entries
(`conntrack -L`) of every host with rules of the experiment's; the controller app's MAC table
and counters for a run that has one; and the frames of the run's packet captures.
`ofproto/trace` asks a bridge what it would do with a packet, without sending it.
"""
import time
from functools import partial

from .capture import BROADCAST
from .errors import HarnessError
from .ovs import DROPPED_BY_THE_SWITCH
from .parsers import (parse_conntrack, parse_fdb, parse_fdb_stats, parse_flows, parse_iptables_save,
                      parse_ports, parse_trace)
from .snapshot import Snapshot


class Observer:
    """Takes the snapshots of one network (and its controller app, if any)."""

    def __init__(self, network, tools, controller=None, captures=None):
        self.network = network
        self.tools = tools
        self.controller = controller
        self.captures = captures
        # Frames received per bridge when flow counters were last brought up to date.
        self._received_when_counted = {}

    def snapshot(self, before_step=None, **step_records):
        """Return a new Snapshot of every switch; step_records (pings, traces, reachability)
        are the step's own rows, kept with it for the checks. Returns (snapshot, seconds
        the snapshot took)."""
        started = time.perf_counter()
        snapshot = Snapshot(before_step=before_step, **{name: list(rows) for name, rows in step_records.items()})
        bridges = self.network.bridges()
        self._dump(snapshot, ports=True, fdb=True, flows=True, firewalls=True)
        if self.controller:
            self._observe_controller(snapshot)
        if self.captures:
            snapshot.frames = self._named(self.captures.frames())
        received = {bridge: snapshot.received(bridge) for bridge in bridges}
        if received != self._received_when_counted:
            self._received_when_counted = received
            if any(snapshot.flows.values()):
                # Packets forwarded by datapath flows reach their OpenFlow flow's n_packets
                # only when a revalidator passes over them: wait for a pass, then read again.
                self.network.wait_for_revalidators()
                # A tunnel port's counters are made from the stats of the flows that used
                # it, pushed by the same revalidator pass.
                self._dump(snapshot, flows=True, ports=bool(self.network.node_bridges()))
        return snapshot, time.perf_counter() - started

    def _observe_controller(self, snapshot):
        """Add the controller app's MAC table and counters to the snapshot."""
        self.controller.check_alive()
        names = {dpid: switch for switch, dpid in self.network.dpids().items()}
        for switch in self.network.switches():
            snapshot.controller_fdb[switch] = []
        for entry in self.controller.request("mac_table"):
            switch = names[entry["dpid"]]
            snapshot.controller_fdb[switch].append({
                "port": entry["port"], "port_name": self.network.port_names[switch].get(str(entry["port"]), ""),
                "mac": entry["mac"]})
        snapshot.controller_stats = self.controller.request("stats")

    def _named(self, frames):
        """Add the names of the hosts whose MACs a frame carries (src, dst; "broadcast"),
        in the frame's VLAN: its tag, or the capture point's access VLAN."""
        for point, rows in frames.items():
            for row in rows:
                vlan = row["vlan"] or self.captures.points[point].vlan
                row["src"] = self.network.host_named(row["src_mac"], vlan)
                row["dst"] = "broadcast" if row["dst_mac"] == BROADCAST else \
                    self.network.host_named(row["dst_mac"], vlan)
        return frames

    def fdb(self, bridge):
        """Return the parsed rows of `ovs-appctl fdb/show bridge`."""
        return _parsed(bridge, partial(parse_fdb, port_names=self.network.port_names[bridge]),
                       self.tools.run(self.network.appctl("fdb/show", bridge)))

    def _dump(self, snapshot, ports=False, fdb=False, flows=False, firewalls=False):
        """Read every bridge's port counters, MAC table (and its counts) and flows, and the
        rules and connections of every host with a firewall, as asked, into `snapshot`:
        every command at once (one after the other, a chain of 64 switches took 2.1 s a
        snapshot here, as each command's start-up adds up), those of another server in one
        session there."""
        dumps = []      # (table, bridge or host, parse, argv, host to run it in)
        for bridge in self.network.bridges():
            names = self.network.port_names[bridge]
            if ports:
                dumps.append((snapshot.ports, bridge, partial(parse_ports, port_names=names),
                              self.network.ofctl(bridge, "dump-ports"), None))
            if fdb:
                dumps += [(snapshot.fdb, bridge, partial(parse_fdb, port_names=names),
                           self.network.appctl("fdb/show", bridge), None),
                          (snapshot.fdb_stats, bridge, parse_fdb_stats, self.network.appctl("fdb/stats-show", bridge),
                           None)]
            if flows:
                dumps.append((snapshot.flows, bridge, parse_flows, self.network.ofctl(bridge, "dump-flows"), None))
        for node in self.network.firewalls() if firewalls else []:
            host = self.network.host(node)
            dumps += [(snapshot.iptables, node, parse_iptables_save, ["iptables-save", "-c"], host),
                      (snapshot.conntrack, node, parse_conntrack, ["conntrack", "-L"], host)]
        outputs = self.tools.run_each([(argv, host) for _table, _name, _parse, argv, host in dumps],
                                      again_if=DROPPED_BY_THE_SWITCH.search)
        for (table, name, parse, _argv, _host), output in zip(dumps, outputs):
            table[name] = _parsed(name, parse, output)

    def trace(self, bridge, flow, packet):
        """Ask `bridge` what it would do with `flow` (ovs-appctl ofproto/trace syntax; no
        packet is sent); return the trace row, `packet` naming it ("vma > ext echo request")."""
        output = self.tools.run(self.network.appctl("ofproto/trace", bridge, flow))
        return {"switch": bridge, "packet": packet, "flow": flow, **parse_trace(output), "output": output}

    def trace_ping(self, switch, src, dst):
        """Trace one echo request from src to dst and its reply through `switch` with
        `ovs-appctl ofproto/trace` (no packet is sent); return the two trace rows.

        Each row names the packet ("h1 > h3 echo request"), the OpenFlow flow it hit first,
        and the trace's full output."""
        rows = []
        for source, target, kind, icmp_type in ((src, dst, "echo request", 8), (dst, src, "echo reply", 0)):
            sender, receiver = self.network.host(source), self.network.host(target)
            packet = (f"in_port={self.network.port_of(source, switch)},icmp,"
                      f"dl_src={sender.MAC()},dl_dst={receiver.MAC()},"
                      f"nw_src={sender.IP()},nw_dst={receiver.IP()},icmp_type={icmp_type},icmp_code=0")
            rows.append(self.trace(switch, packet, f"{source} > {target} {kind}"))
        return rows


def _parsed(name, parse, output):
    """Return parse(output) of a dump of bridge or host `name`; an unreadable one is a HarnessError."""
    try:
        return parse(output)
    except ValueError as unreadable:
        raise HarnessError(f"{name}: {unreadable}") from None
