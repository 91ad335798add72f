"""Translating ovs-ofctl flows into the FlowMods the ryu backend sends."""
import pytest

from harness.errors import HarnessError
from harness.flows import flow_mod
from harness.parsers import parse_flow_spec


@pytest.mark.parametrize("flow, expected", [
    ("action=normal", {"priority": 32768, "match": {}, "actions": [{"normal": True}]}),
    ("actions=NORMAL", {"priority": 32768, "match": {}, "actions": [{"normal": True}]}),
    ("priority=60000,dl_dst=00:00:00:00:00:03,actions=output:3",
     {"priority": 60000, "match": {"eth_dst": "00:00:00:00:00:03"}, "actions": [{"output": 3}]}),
    ("priority=100,arp,in_port=1,actions=normal",
     {"priority": 100, "match": {"eth_type": 0x0806, "in_port": 1}, "actions": [{"normal": True}]}),
    ("priority=5,icmp,nw_dst=10.0.0.3,actions=output:3,output:4",
     {"priority": 5, "match": {"eth_type": 0x0800, "ip_proto": 1, "ipv4_dst": "10.0.0.3"},
      "actions": [{"output": 3}, {"output": 4}]}),
    ("priority=1,actions=drop", {"priority": 1, "match": {}, "actions": []}),
])
def test_flows_the_experiments_write(flow, expected):
    assert flow_mod(flow) == expected


@pytest.mark.parametrize("flow, message", [
    ("priority=1,tcp,tp_dst=80,actions=normal", "cannot match on 'tcp'"),
    ("actions=mod_vlan_vid:10,output:1", "cannot do action"),
    ("priority=1", "cannot read flow 'priority=1'"),
])
def test_what_the_ryu_backend_cannot_install_is_one_clear_error(flow, message):
    with pytest.raises(HarnessError, match=message) as error:
        flow_mod(flow)
    assert "--flows ofctl" in str(error.value) or "cannot read" in str(error.value)


def test_spec_parsing_keeps_the_text_of_match_fields():
    assert parse_flow_spec("priority=60000,dl_dst=00:00:00:00:00:03,actions=output:3") == \
        (60000, [("dl_dst", "00:00:00:00:00:03")], [("output", {"port": 3})])
