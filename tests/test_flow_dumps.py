"""The flow parser on real dumps: thousands of varied flows in a real OVS bridge, dumped by
ovs-ofctl in OpenFlow 1.0 and 1.3, read by the fast path exactly as OVS's OFPFlow reads them."""
import subprocess

import pytest

from harness.ovs import DATAPATH_TYPES, RUN_ID_KEY
from harness.parsers import parse_flows
from test_parsers import assert_fast_path_reads_as_ofpflow, flow_lines

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

BRIDGE = "ovsh-dumps"
# Every match but the empty one is unique by its values, the empty one by its priority
# (for up to 458,752 flows).
MATCHES = ["", "ip,nw_dst=10.{a}.{b}.{c}", "dl_dst=02:00:00:{a:02x}:{b:02x}:{c:02x}",
           "arp,in_port={port},arp_tpa=10.{a}.{b}.{c}", "tcp,nw_src=10.{a}.{b}.{c},tp_dst={port}",
           "udp6,ipv6_dst=fd00::{a:x}:{b:x}:{c:x}", "in_port={port},dl_src=02:00:00:{a:02x}:{b:02x}:{c:02x}"]
ACTIONS = ["NORMAL", "drop", "output:{port}", "mod_dl_dst:02:00:00:00:00:{c:02x},output:{port}",
           "set_field:{c}->tun_id,resubmit(,1)", "mod_vlan_vid:{c},output:{port}", "CONTROLLER:65535"]
EXTRAS = ["", "idle_timeout=600", "hard_timeout=900", "idle_timeout=600,hard_timeout=900,importance=3"]


def varied_flows(count):
    """count distinct add-flow lines mixing tables, cookies, priorities (the default one
    too), timeouts, matches (none too) and actions."""
    lines = []
    for i in range(1, count + 1):
        values = {"i": i, "a": i >> 16 & 255, "b": i >> 8 & 255, "c": i & 255, "port": i % 48 + 1}
        match = MATCHES[i % len(MATCHES)].format(**values)
        priority = "" if match and i % 5 == 0 else f"priority={i % 65536}"
        fields = [f"table={i % 4}", f"cookie={i:#x}", EXTRAS[i % len(EXTRAS)], priority, match]
        lines.append(",".join(filter(None, fields)) + ",actions=" + ACTIONS[i % len(ACTIONS)].format(**values))
    return lines


@pytest.fixture
def bridge():
    subprocess.run(["ovs-vsctl", "--", "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE,
                    f"datapath_type={DATAPATH_TYPES['user']}", f"external_ids:{RUN_ID_KEY}=test",
                    "protocols=OpenFlow10,OpenFlow13,OpenFlow14"], check=True)
    # A new bridge has one flow (priority=0 actions=NORMAL); Mininet deletes it too.
    subprocess.run(["ovs-ofctl", "del-flows", BRIDGE], check=True)
    yield BRIDGE
    subprocess.run(["ovs-vsctl", "--if-exists", "del-br", BRIDGE], check=True)


# Flows added by OpenFlow 1.4 (importance needs it) show the reset_counts flag in 1.3 dumps.
@pytest.mark.parametrize("add_with, protocol", [("OpenFlow10", "OpenFlow10"), ("OpenFlow14", "OpenFlow13")])
def test_thousands_of_real_flows_parse_as_ovs_own_parser_reads_them(bridge, tmp_path, add_with, protocol):
    flows = varied_flows(3000)
    flow_file = tmp_path / "flows.txt"
    flow_file.write_text("\n".join(flows) + "\n")
    subprocess.run(["ovs-ofctl", "-O", add_with, "add-flows", bridge, str(flow_file)], check=True)
    dump = subprocess.run(["ovs-ofctl", "-O", protocol, "dump-flows", bridge],
                          capture_output=True, text=True, check=True).stdout
    lines = flow_lines(dump)
    assert len(lines) == len(parse_flows(dump)) == len(flows)
    assert_fast_path_reads_as_ofpflow(lines)
    assert {flow["cookie"] for flow in parse_flows(dump)} == set(range(1, len(flows) + 1))
