"""Parsers on recorded outputs of the real tools, the blog's own outputs among them."""
import re

import pytest

from conftest import DATA
from harness import parsers
from harness.parsers import parse_fdb, parse_flows, parse_fping, parse_ping, parse_ports, parse_trace

RECORDED_DUMPS = ["blog-dump-flows-step4.txt", "blog-dump-flows-step7.txt", "dump-flows-mixed.txt",
                  "dump-flows-of13.txt", "dump-flows-names.txt"]


def recorded(name):
    return (DATA / name).read_text()


def test_blog_step3_empty_flow_table_has_no_flows():
    assert parse_flows(recorded("blog-dump-flows-step3.txt")) == []


def test_blog_step4_normal_flow_without_match_fields():
    [flow] = parse_flows(recorded("blog-dump-flows-step4.txt"))
    assert flow == {"table": 0, "priority": 32768, "cookie": 0, "match": "", "actions": "NORMAL",
                    "n_packets": 0, "n_bytes": 0, "duration": 12.023}


def test_blog_step7_counters_of_priority_and_normal_flows():
    priority, normal = parse_flows(recorded("blog-dump-flows-step7.txt"))
    assert (priority["priority"], priority["match"], priority["actions"]) == \
        (60000, "dl_dst=00:00:00:00:00:03", "output:3")
    assert (priority["n_packets"], priority["n_bytes"]) == (2, 196)
    assert (normal["match"], normal["actions"], normal["n_packets"], normal["n_bytes"]) == \
        ("", "NORMAL", 12, 840)


def test_real_dump_with_tables_cookies_timeouts_and_explicit_priority_zero():
    flows = parse_flows(recorded("dump-flows-mixed.txt"))
    assert [(f["table"], f["priority"], f["match"], f["actions"]) for f in flows] == [
        (0, 60000, "dl_dst=00:00:00:00:00:03", "output:3"),
        (0, 0, "", "NORMAL"),
        (0, 32768, "", "NORMAL"),
        (0, 100, "arp,in_port=1", "NORMAL"),
        (0, 5, "ip,nw_src=10.0.0.1", "mod_nw_dst:10.0.0.9,output:1"),
        (2, 0, "", "drop"),
    ]
    assert flows[4]["cookie"] == 0x1F


def test_openflow13_dump_whose_flags_end_the_info_section():
    # "n_bytes=0, reset_counts actions=NORMAL": the flag must not be read as a match field.
    flows = parse_flows(recorded("dump-flows-of13.txt"))
    assert [(f["priority"], f["match"]) for f in flows][:3] == \
        [(60000, "dl_dst=00:00:00:00:00:03"), (0, ""), (32768, "")]
    assert flows[4]["actions"] == "set_field:10.0.0.9->ip_dst,output:1"


def test_dump_with_port_names_and_no_reply_header():
    flows = parse_flows(recorded("dump-flows-names.txt"))
    assert len(flows) == 6
    assert flows[3]["match"] == "arp,in_port=fixa"


def flow_lines(text):
    """The flow lines of a dump (no reply header, no blank line)."""
    return [line.strip() for line in text.splitlines()
            if line.strip() and not parsers._REPLY_HEADER.match(line.strip())]


def assert_fast_path_reads_as_ofpflow(lines):
    """Every line takes the fast path, and it gives the row OVS's OFPFlow gives."""
    for line in lines:
        common = parsers._COMMON_LAYOUT.fullmatch(line)
        assert common, f"not on the fast path: {line}"
        assert parsers._common_flow(common) == parsers._ofp_flow_row(line), line


@pytest.mark.parametrize("recording", RECORDED_DUMPS)
def test_fast_path_reads_recorded_dumps_as_ovs_own_parser_does(recording):
    assert_fast_path_reads_as_ofpflow(flow_lines(recorded(recording)))


def test_a_line_of_another_layout_goes_to_ovs_own_parser():
    # The match does not start with the priority, as ovs-ofctl would print it.
    line = "cookie=0x0, duration=1.5s, table=0, n_packets=3, n_bytes=180, ip,priority=7 actions=drop"
    [flow] = parse_flows(line)
    assert (flow["priority"], flow["match"], flow["n_packets"]) == (7, "ip", 3)


def test_a_line_that_is_not_a_flow_is_an_error_not_a_silent_skip():
    with pytest.raises(ValueError):
        parse_flows("this is not a flow")


def test_blog_fdb_with_local_port_and_names():
    entries = parse_fdb(recorded("blog-fdb-show-step5.txt"),
                        {"1": "s1-eth1", "2": "s1-eth2", "LOCAL": "s1"})
    assert entries == [
        {"port": -1, "port_name": "s1", "vlan": 0, "mac": "b2:c9:fc:3c:1a:41", "age": 63},
        {"port": 2, "port_name": "s1-eth2", "vlan": 0, "mac": "00:00:00:00:00:02", "age": 1},
        {"port": 1, "port_name": "s1-eth1", "vlan": 0, "mac": "00:00:00:00:00:01", "age": 1},
    ]


def test_fdb_static_entry_has_no_age_and_header_alone_is_empty():
    assert parse_fdb(recorded("fdb-show-static.txt")) == [
        {"port": 1, "port_name": "", "vlan": 0, "mac": "00:00:00:00:00:aa", "age": None}]
    assert parse_fdb(" port  VLAN  MAC                Age\n") == []


@pytest.mark.parametrize("line", ["ovs-appctl: s1: unknown bridge", "  1  0  00:00:00:00:00:01",
                                  "    1   0  00:00:00:00:00:0g    1", "p1 0 00:00:00:00:00:01 3"])
def test_fdb_line_the_parser_does_not_know_is_an_error_quoting_it(line):
    with pytest.raises(ValueError, match=re.escape(repr(line))):
        parse_fdb(f" port  VLAN  MAC                Age\n{line}\n")


def test_ports_of_normal_mode_after_h1_ping_h2():
    ports = parse_ports(recorded("dump-ports-normal-mode-step4.txt"),
                        {"LOCAL": "s1", "1": "s1-eth1", "2": "s1-eth2", "3": "s1-eth3"})
    by_port = {p["port"]: p for p in ports}
    assert sorted(by_port) == [-1, 1, 2, 3]
    assert (by_port[1]["rx_packets"], by_port[1]["rx_bytes"], by_port[1]["tx_packets"]) == (7, 406, 4)
    assert (by_port[3]["port_name"], by_port[3]["rx_packets"], by_port[3]["tx_bytes"]) == ("s1-eth3", 0, 42)
    assert by_port[-1]["tx_drops"] == 1


def test_openflow13_ports_with_duration_lines():
    ports = parse_ports(recorded("dump-ports-of13.txt"))
    assert [p["port"] for p in ports] == [-1, 1]
    assert set(ports[1]) == {"port", "port_name"} | {
        f"{d}_{c}" for d in ("rx", "tx") for c in ("packets", "bytes", "drops", "errors")}


def test_counter_a_datapath_does_not_keep_is_none():
    text = ("  port  1: rx pkts=5, bytes=300, drop=?, errs=?, frame=?, over=?, crc=?\n"
            "           tx pkts=4, bytes=280, drop=?, errs=?, coll=?\n")
    [port] = parse_ports(text)
    assert (port["rx_packets"], port["rx_drops"], port["tx_errors"]) == (5, None, None)


def test_blog_ping():
    assert parse_ping(recorded("blog-ping-step5.txt")) == {
        "sent": 2, "received": 2, "loss": 0.0,
        "rtt_min": 0.085, "rtt_avg": 0.336, "rtt_max": 0.587, "rtt_mdev": 0.251,
        "rtt_first": 0.587}


@pytest.mark.parametrize("name", ["ping-unreachable.txt", "ping-no-reply.txt"])
def test_ping_without_replies(name):
    result = parse_ping(recorded(name))
    assert (result["sent"], result["received"], result["loss"], result["rtt_avg"]) == (2, 0, 100.0, None)


def test_ping_without_statistics_is_an_error():
    with pytest.raises(ValueError):
        parse_ping("ping: connect: Network is unreachable\n")


def test_trace_of_a_packet_hitting_the_priority_flow():
    assert parse_trace(recorded("trace-priority.txt")) == {
        "table": 0, "priority": 60000, "match": "dl_dst=00:00:00:00:00:03", "actions": "output:3",
        "datapath_actions": "4"}


def test_trace_of_a_packet_flooded_by_normal():
    trace = parse_trace(recorded("trace-normal-flood.txt"))
    assert (trace["priority"], trace["match"], trace["actions"], trace["datapath_actions"]) == \
        (32768, "", "NORMAL", "1,2,3")


def test_trace_without_a_flow_is_an_error():
    with pytest.raises(ValueError):
        parse_trace("ovs-appctl: s9: unknown bridge\n")


def test_fping_summary_of_every_target():
    answered = parse_fping(recorded("fping-h1-normal.txt"))
    assert len(answered) == 31 and set(answered.values()) == {(1, 1)}
    assert answered["10.0.0.2"] == (1, 1)


def test_fping_without_replies():
    unanswered = parse_fping(recorded("fping-h1-no-flows.txt"))
    assert len(unanswered) == 31 and set(unanswered.values()) == {(1, 0)}


@pytest.mark.parametrize("table, waiting", [("proc-net-packet.txt", {49036884: 832}),
                                            ("proc-net-netlink.txt", {48955841: 2304})])
def test_socket_queues_of_proc_net_tables(table, waiting):
    """Tables recorded from ovs-vswitchd's /proc/PID/net; one row's Rmem set to what a queued
    frame (832 bytes) and a queued upcall left there in a run."""
    rows = parsers.parse_socket_queues(recorded(table))
    assert len(rows) == len(recorded(table).splitlines()) - 1
    assert {row["inode"]: row["unread"] for row in rows if row["unread"]} == waiting


def test_an_empty_socket_table_has_no_rows():
    assert parsers.parse_socket_queues("") == []


def test_dpif_show_lists_each_open_datapath_with_its_bridges():
    """The netdev part recorded on this machine; the system part as OVS 3.1's
    dpif_show_backer prints it (this machine's kernel has no openvswitch module)."""
    assert parsers.parse_dpif_show(recorded("dpif-show-two-datapaths.txt")) == \
        {"netdev": ["foreign0", "s1"], "system": ["br-ex", "br-int"]}
    assert parsers.parse_dpif_show("") == {}
