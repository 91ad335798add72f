"""A table of varied flows (ARP, IP, TCP and UDP ports, VLAN, several tables, cookies and
timeouts), for comparing what the two flow backends install: the same flows, whichever
way they are sent (tests/test_backends.py compares the dumps)."""
from harness import Experiment, SingleSwitch

FLOWS = [
    "priority=100,arp,nw_dst=10.0.0.3,actions=output:3",
    "priority=95,arp,nw_src=10.0.0.1,actions=normal",
    "priority=90,ip,nw_src=10.0.0.1,nw_dst=10.0.0.0/24,actions=goto_table:1",
    "priority=80,dl_vlan=10,actions=pop_vlan,output:2",
    "priority=70,in_port=1,dl_src=00:00:00:00:00:01,actions=resubmit(,2)",
    "cookie=0x2a,idle_timeout=600,hard_timeout=900,priority=5,actions=NORMAL",
    "table=1,priority=50,tcp,tp_dst=80,actions=output:2",
    "table=1,priority=40,udp,tp_src=53,actions=drop",
    "table=1,priority=30,ip,actions=FLOOD",
    "table=2,priority=10,dl_dst=00:00:00:00:00:02,actions=output:2,output:3",
]

ACTIONS_AS_DUMPED = ["output:3", "NORMAL", "resubmit(,1)", "strip_vlan,output:2", "resubmit(,2)", "NORMAL",
                     "output:2", "drop", "FLOOD", "output:2,output:3"]


class FlowTable(Experiment):
    """Installs a varied flow table."""

    topology = SingleSwitch(hosts=3)

    def run(self, lab):
        with lab.step("install"):
            for flow in FLOWS:
                lab.flows.add("s1", flow)
            lab.check.flow_actions("s1", ACTIONS_AS_DUMPED, why=(
                "one flow per flow added; OVS shows goto_table as resubmit and pop_vlan as strip_vlan "
                "in an OpenFlow 1.0 dump"))
