"""Translating ovs-ofctl flows into the FlowMods the ryu backend sends (with os-ken's own
translators); tests/test_backends.py installs a table of them on a real switch both ways
and compares the dumps."""
import pytest

from harness.errors import HarnessError
from harness.flows import _stand_in_datapath, build_flow_mod_parts, flow_mod

DEFAULTS = {"table_id": 0, "priority": 32768, "cookie": 0, "idle_timeout": 0, "hard_timeout": 0}


@pytest.mark.parametrize("flow, expected", [
    ("action=normal", {"match": {}, "actions": "normal"}),
    ("actions=NORMAL", {"match": {}, "actions": "normal"}),
    ("priority=60000,dl_dst=00:00:00:00:00:03,actions=output:3",
     {"priority": 60000, "match": {"dl_dst": "00:00:00:00:00:03"}, "actions": "output:3"}),
    ("priority=100,arp,in_port=1,actions=normal",
     {"priority": 100, "match": {"dl_type": 0x0806, "in_port": "1"}, "actions": "normal"}),
    ("table=1,cookie=0x5,idle_timeout=300,hard_timeout=600,priority=5,tcp,tp_dst=80,actions=goto_table:2",
     {"table_id": 1, "cookie": 5, "idle_timeout": 300, "hard_timeout": 600, "priority": 5,
      "match": {"dl_type": 0x0800, "nw_proto": 6, "tp_dst": "80"}, "actions": "goto_table:2"}),
    ("priority=1,actions=drop", {"priority": 1, "match": {}, "actions": "drop"}),
    ("in_port=1,actions=FLOOD,3", {"match": {"in_port": "1"}, "actions": "output:4294967291,output:3"}),
])
def test_flows_the_experiments_write(flow, expected):
    assert flow_mod(flow) == {**DEFAULTS, **expected}


def test_arp_addresses_become_arp_fields_not_ip_ones():
    """ovs-ofctl's nw_dst on an ARP flow is the ARP target address (arp_tpa)."""
    match, _instructions = build_flow_mod_parts(_stand_in_datapath(), flow_mod("arp,nw_dst=10.0.0.3,actions=normal")["match"], "normal")
    fields = {field["OXMTlv"]["field"]: field["OXMTlv"]["value"]
              for field in match.to_jsondict()["OFPMatch"]["oxm_fields"]}
    assert fields == {"eth_type": 0x0806, "arp_tpa": "10.0.0.3"}


@pytest.mark.parametrize("flow, message", [
    ("priority=1,tun_id=5,actions=normal", "cannot match on 'tun_id'"),
    ("priority=1,frobnicate=3,actions=normal", "cannot match on 'frobnicate'"),
    ("priority=1,frobnicate,actions=normal", "cannot match on 'frobnicate'"),
    ("actions=mod_vlan_vid:10,output:1", "cannot install 'actions=mod_vlan_vid:10,output:1' (OFPInvalidActionString"),
    ("tp_dst=80,actions=normal", "cannot install"),
    ("table=x,actions=normal", "table=x is not a number"),
    ("priority=1", "cannot read flow 'priority=1': it has no actions="),
])
def test_what_the_ryu_backend_cannot_install_is_one_clear_error(flow, message):
    with pytest.raises(HarnessError) as error:
        flow_mod(flow)
    assert message in str(error.value)
    assert "\n" not in str(error.value)

