"""Parsers for what the real tools print: one list of dicts (future table rows) per output.

Flows are parsed by OVS's own `ovs.flow.ofp.OFPFlow`, with a fast path for the layout that
nearly every dump-flows line has (OFPFlow reads about 30,000 lines a second, too slow for
dumps of 100,000 flows); the other outputs have a fixed column or key=value layout that a
regular expression reads directly.
"""
import re

from ovs.flow.ofp import OFPFlow

# ovs-ofctl prints no priority when it is the OpenFlow default.
DEFAULT_PRIORITY = 32768

_REPLY_HEADER = re.compile(r"^(NXST|OFPST)_\w+ reply")
# A flow with no match fields at the default priority prints its info section straight
# before the actions: "..., idle_age=12, actions=NORMAL", or, when the flow has flags
# (OpenFlow 1.3 dumps show reset_counts), "..., n_bytes=0, reset_counts actions=NORMAL".
_FLOW_FLAGS = "send_flow_rem|check_overlap|reset_counts|no_packet_counts|no_byte_counts"
_NO_MATCH_FIELDS = re.compile(rf"(,|\b(?:{_FLOW_FLAGS}))\s+actions=")
# What ovs-ofctl prints for nearly every flow: the counters, optional timeouts and ages,
# optional flags, then the match (priority first) and the actions. Lines of this layout are
# read directly, 10 times faster than by OFPFlow; any other line goes to OFPFlow. Both give
# the same rows (tests/test_parsers.py compares them on every recorded and a generated dump).
_COMMON_LAYOUT = re.compile(
    r"cookie=(?P<cookie>0x[0-9a-f]+), duration=(?P<duration>[0-9.]+)s, table=(?P<table>\d+), "
    r"n_packets=(?P<n_packets>\d+), n_bytes=(?P<n_bytes>\d+),"
    r"(?: (?:idle_timeout|hard_timeout|idle_age|hard_age|importance)=[0-9.]+s?,)*"
    rf"(?: (?:{_FLOW_FLAGS}))*"
    r" (?:priority=(?P<priority>\d+),?)?(?P<match>[^ ]*) ?actions=(?P<actions>.*)")


def parse_flows(text):
    """Parse `ovs-ofctl dump-flows` output.

    Returns one dict per flow: table, priority, cookie, match (the match fields as
    ovs-ofctl prints them, without priority; "" for a flow that matches every packet),
    actions, n_packets, n_bytes, duration (seconds)."""
    flows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not _REPLY_HEADER.match(line):
            common = _COMMON_LAYOUT.fullmatch(line)
            flows.append(_common_flow(common) if common and "priority=" not in common["match"]
                         else _ofp_flow_row(line))
    return flows


def _ofp_flow_row(line):
    """Return the row of any dump-flows line, parsed by OFPFlow."""
    flow = _ofp_flow(line)
    match_fields = [kv for kv in flow.match_kv if kv.key != "priority"]
    return {
        "table": flow.info.get("table", 0),
        "priority": flow.match.get("priority", DEFAULT_PRIORITY),
        "cookie": flow.info.get("cookie", 0),
        "match": ",".join(_field_text(kv) for kv in match_fields),
        "actions": flow.section("actions").string,
        "n_packets": flow.info.get("n_packets", 0),
        "n_bytes": flow.info.get("n_bytes", 0),
        "duration": flow.info.get("duration", 0.0),
    }


def _common_flow(line):
    """Return the row of a dump-flows line matched by _COMMON_LAYOUT, as _ofp_flow_row would."""
    return {
        "table": int(line["table"]),
        "priority": int(line["priority"]) if line["priority"] else DEFAULT_PRIORITY,
        "cookie": int(line["cookie"], 16),
        "match": line["match"],
        "actions": line["actions"],
        "n_packets": int(line["n_packets"]),
        "n_bytes": int(line["n_bytes"]),
        "duration": float(line["duration"]),
    }


def _ofp_flow(line):
    """Parse one dump-flows line with OVS's OFPFlow.

    OFPFlow needs a match section between the info and the actions; a flow without match
    fields has none, so spell out the priority ovs-ofctl left implicit."""
    return OFPFlow(_NO_MATCH_FIELDS.sub(rf"\1 priority={DEFAULT_PRIORITY} actions=", line, count=1))


def _field_text(kv):
    """Return a match field as ovs-ofctl printed it ("ip", "dl_dst=00:00:00:00:00:03")."""
    return f"{kv.meta.kstring}={kv.meta.vstring}" if kv.meta.vstring else kv.meta.kstring


_FDB_ROW = re.compile(r"^\s*(?P<port>\d+|LOCAL)\s+(?P<vlan>\d+)\s+(?P<mac>[0-9a-fA-F:]{17})\s+(?P<age>\d+|\?|static)\s*$")
_FDB_HEADER = re.compile(r"^\s*port\s+VLAN\s+MAC\s+Age\s*$")


def parse_fdb(text, port_names=None):
    """Parse `ovs-appctl fdb/show BRIDGE` output.

    port_names maps OpenFlow port numbers (and "LOCAL") to interface names.
    Returns one dict per MAC: port (OpenFlow number, -1 for LOCAL), port_name, vlan, mac,
    age (seconds; "static" or "?", which OVS prints for static entries, becomes None). Raises ValueError,
    quoting the line, for a line that is neither the header nor an entry: a table nobody
    could read must never pass for an empty one."""
    port_names = port_names or {}
    entries = []
    for line in text.splitlines():
        if not line.strip() or _FDB_HEADER.match(line):
            continue
        row = _FDB_ROW.match(line)
        if not row:
            raise ValueError(f"fdb/show printed a line the parser does not know: {line!r}")
        port = row["port"]
        entries.append({
            "port": -1 if port == "LOCAL" else int(port),
            "port_name": port_names.get(port, ""),
            "vlan": int(row["vlan"]),
            "mac": row["mac"].lower(),
            "age": int(row["age"]) if row["age"].isdigit() else None,
        })
    return entries


_FDB_STATS = {
    "current": re.compile(r"^\s*Current/maximum MAC entries in the table: (\d+)/\d+$"),
    "maximum": re.compile(r"^\s*Current/maximum MAC entries in the table: \d+/(\d+)$"),
    "learned": re.compile(r"^\s*Total number of learned MAC entries\s*: (\d+)$"),
    "expired": re.compile(r"^\s*Total number of expired MAC entries\s*: (\d+)$"),
    "evicted": re.compile(r"^\s*Total number of evicted MAC entries\s*: (\d+)$"),
    "moved": re.compile(r"^\s*Total number of port moved MAC entries\s*: (\d+)$"),
}


def parse_fdb_stats(text):
    """Parse `ovs-appctl fdb/stats-show BRIDGE`: return {current, maximum (the table's
    size limit), learned, expired, evicted, moved (entries whose port changed)}, the counts
    since the bridge was made. Raises ValueError naming a count the output lacks."""
    stats = {}
    for name, pattern in _FDB_STATS.items():
        found = [int(match.group(1)) for match in map(pattern.match, text.splitlines()) if match]
        if not found:
            raise ValueError(f"fdb/stats-show printed no {name} count")
        stats[name] = found[0]
    return stats


_PORT_HEADER = re.compile(r"^\s*port\s+\"?(?P<port>[^:\"]+)\"?:\s*(?P<rest>.*)$")
_DIRECTION = re.compile(r"^\s*(?P<dir>rx|tx)\s+(?P<rest>.*)$")
_COUNTER = re.compile(r"(?P<key>[a-z_]+)=(?P<value>[^,\s]+)")
PORT_COUNTERS = {"pkts": "packets", "bytes": "bytes", "drop": "drops", "errs": "errors"}


def parse_ports(text, port_names=None):
    """Parse `ovs-ofctl dump-ports BRIDGE` output.

    Returns one dict per port: port (OpenFlow number, -1 for LOCAL), port_name, and
    rx_/tx_ packets, bytes, drops, errors. A counter the datapath does not keep ("?")
    becomes None."""
    port_names = port_names or {}
    ports, current = [], None
    for line in text.splitlines():
        header = _PORT_HEADER.match(line)
        if header:
            number = header["port"].strip()
            current = {"port": -1 if number == "LOCAL" else int(number),
                       "port_name": port_names.get(number, "")}
            ports.append(current)
            line = header["rest"]
        direction = _DIRECTION.match(line)
        if current is None or not direction:
            continue
        for counter in _COUNTER.finditer(direction["rest"]):
            name = PORT_COUNTERS.get(counter["key"])
            if name:
                value = counter["value"]
                current[f"{direction['dir']}_{name}"] = int(value) if value.isdigit() else None
    return ports


_PING_SUMMARY = re.compile(r"(?P<sent>\d+) packets transmitted, (?P<received>\d+) (packets )?received")
_PING_REPLY_TIME = re.compile(r"bytes from .* time=([\d.]+) ms")
_PING_RTT = re.compile(r"(rtt|round-trip) min/avg/max/(mdev|stddev) = "
                       r"(?P<min>[\d.]+)/(?P<avg>[\d.]+)/(?P<max>[\d.]+)/(?P<mdev>[\d.]+) ms")


def parse_ping(text):
    """Parse the output of iputils `ping`.

    Returns sent, received, loss (percent), rtt_min/avg/max/mdev in ms and rtt_first, the
    first reply's time (None when no reply came back). Raises ValueError if the output has
    no statistics line."""
    summary = _PING_SUMMARY.search(text)
    if not summary:
        raise ValueError(f"no ping statistics in: {text.strip()[-200:]!r}")
    sent, received = int(summary["sent"]), int(summary["received"])
    rtt = _PING_RTT.search(text)
    first = _PING_REPLY_TIME.search(text)
    return {
        "sent": sent,
        "received": received,
        "loss": 100.0 * (sent - received) / sent if sent else 100.0,
        **{f"rtt_{k}": float(rtt[k]) if rtt else None for k in ("min", "avg", "max", "mdev")},
        "rtt_first": float(first[1]) if first else None,
    }


_TRACE_RULE = re.compile(r"^\s*(?P<table>\d+)\. (?:(?P<match>.*), )?priority (?P<priority>\d+)"
                         r"(?:, cookie (?P<cookie>0x[0-9a-f]+))?\s*$")


def parse_trace(text):
    """Parse `ovs-appctl ofproto/trace BRIDGE FLOW` output.

    Returns the first OpenFlow flow the packet hit: table, priority, match ("" when it
    matches every packet), actions (the flow's first action line), and datapath_actions
    (the last line's datapath ports or "drop"). Raises ValueError if no flow was hit."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        rule = _TRACE_RULE.match(line)
        if rule:
            actions = lines[index + 1].strip() if index + 1 < len(lines) else ""
            break
    else:
        raise ValueError(f"no OpenFlow flow in trace: {text.strip()[-200:]!r}")
    datapath = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Datapath actions:")]
    return {
        "table": int(rule["table"]),
        "priority": int(rule["priority"]),
        "match": rule["match"] or "",
        "actions": actions,
        "datapath_actions": datapath[-1] if datapath else "",
    }


_FPING_SUMMARY = re.compile(r"^(?P<address>\S+)\s*: xmt/rcv/%loss = (?P<sent>\d+)/(?P<received>\d+)/")


def parse_fping(text):
    """Parse `fping -c N -q` output (its per-target summary lines).

    Returns {address: (sent, received)}."""
    return {line["address"]: (int(line["sent"]), int(line["received"]))
            for line in map(_FPING_SUMMARY.match, text.splitlines()) if line}


_IPTABLES_RULE = re.compile(r"^\[(?P<packets>\d+):(?P<bytes>\d+)\] -A (?P<chain>\S+) ?(?P<rule>.*)$")


def parse_iptables_save(text):
    """Parse `iptables-save -c` output.

    Returns one row per rule, in order: table, chain, rule (the words after `-A CHAIN`, as
    iptables-save writes them back), packets, bytes. Raises ValueError, quoting the line,
    for a line that is none of iptables-save's."""
    rows, table = [], None
    for line in text.splitlines():
        if not line or line.startswith("#") or line.startswith(":") or line == "COMMIT":
            continue
        if line.startswith("*"):
            table = line[1:]
            continue
        rule = _IPTABLES_RULE.match(line)
        if not rule or table is None:
            raise ValueError(f"iptables-save line not understood: {line!r}")
        rows.append({"table": table, "chain": rule["chain"], "rule": rule["rule"],
                     "packets": int(rule["packets"]), "bytes": int(rule["bytes"])})
    return rows


def parse_conntrack(text):
    """Parse `conntrack -L` output (its summary line, on stderr, is not read).

    Returns one row per connection: protocol, state (TCP's, else ""), src, dst, sport, dport
    (TCP and UDP), id (ICMP), the reply direction's reply_src and reply_dst (what NAT made
    of them), and unreplied (no reply seen yet)."""
    rows = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or "=" not in line:
            continue
        row = {"protocol": words[0], "state": "", "src": "", "dst": "", "sport": "", "dport": "", "id": "",
               "reply_src": "", "reply_dst": "", "unreplied": "[UNREPLIED]" in words}
        sources = 0
        for word in words[3:]:      # after protocol, its number and the timeout
            key, equals, value = word.partition("=")
            if not equals:
                row["state"] = row["state"] or ("" if word.startswith("[") else word)
                continue
            sources += key == "src"
            if sources == 1 and key in row and not row[key]:
                row[key] = value
            elif sources == 2 and key in ("src", "dst") and not row[f"reply_{key}"]:
                row[f"reply_{key}"] = value
        rows.append(row)
    return rows


def parse_socket_queues(text):
    """Rows {inode, unread} of a /proc/net socket table (packet, netlink): each socket's
    inode and the bytes waiting in its receive queue (the Rmem column)."""
    lines = text.splitlines()
    if not lines:
        return []
    columns = lines[0].split()
    rmem, inode = columns.index("Rmem"), columns.index("Inode")
    return [{"inode": int(fields[inode]), "unread": int(fields[rmem])}
            for fields in (line.split() for line in lines[1:]) if len(fields) == len(columns)]


_DATAPATH_LINE = re.compile(r"^(?P<type>[\w-]+)@\S+: ")
_DATAPATH_BRIDGE = re.compile(r"^  (?P<bridge>\S+):$")


def parse_dpif_show(text):
    """{datapath type ("system", "netdev"): [its bridges]} of `ovs-appctl dpif/show`: a line
    per datapath ovs-vswitchd has open ("system@ovs-system: hit:... missed:..."), each of
    its bridges indented by two spaces, their ports by four."""
    datapaths, bridges = {}, None
    for line in text.splitlines():
        if match := _DATAPATH_LINE.match(line):
            bridges = datapaths.setdefault(match["type"], [])
        elif (match := _DATAPATH_BRIDGE.match(line)) and bridges is not None:
            bridges.append(match["bridge"])
    return datapaths
