"""The journey of a packet from a VM to the internet through Neutron's plumbing: security
group, br-int, br-tun, a GRE tunnel, the network node's br-tun and br-int, and a router
namespace that SNATs it out of br-ex, with hop-by-hop counters for the request and its reply.

Reproduces the blog post "Journey of a packet when a VM accesses internet in Openstack", on
real Open vSwitch, Linux bridges, namespaces and iptables, with no OpenStack installed. Two
nodes, each a namespace running its own ovsdb-server and ovs-vswitchd (harness.ovs_node),
joined by an underlay link; the names are Neutron's (tap, qbr, qvb, qvo, qr-, qg-, the
iptables chains neutron-openvswi-i/o... and neutron-l3-agent-snat), so every table, trace
and counter reads like a real compute or network node's.

The post's five hops:
 1. VM -> br-int: the VM's tap is on a Linux bridge qbr... whose iptables chains are its
    security group (the hybrid firewall: OVS could not run iptables on its own ports);
    the veth qvb.../qvo... joins qbr to br-int, where the port's tag is the network's local
    VLAN on this node;
 2. br-int -> br-tun over patch ports; br-tun strips the local VLAN and sets the tunnel id;
 3. the GRE tunnel to the network node, over br-phy, the bridge holding the underlay NIC
    and the tunnel endpoint address (OVS's userspace tunnels need one);
 4. br-tun -> br-int on the network node: tunnel id -> that node's local VLAN, the sending
    VM's MAC learned, on to the router's qr- port;
 5. the router namespace forwards the packet out of its qg- port on br-ex and SNATs it to
    the router's gateway address, which is all the outside ever sees.

The steps: the agents wire the compute node, then the network node (bridges, ports, flows,
security group, router); the VMs find their gateways (ARP, and br-tun learning each remote
MAC); then the journey itself, one ping whose every echo crosses the five hops at once, so
its checks follow it hop by hop (`lab.check.crossed`: the counter that saw the request go
and the one that saw the reply come back), with `ofproto/trace` of each direction on each
node; then what the security group refuses, and the isolation of two tenants whose
addresses overlap.

br-tun's tables are those of Neutron's OVS agent for GRE (neutron/plugins/ml2/drivers/
openvswitch/agent/common/constants.py and ovs_tunnel bridge's setup_default_table):
  0  from the patch port to 2, from a tunnel to 3, anything else dropped;
  2  PATCH_LV_TO_TUN: unicast to 20, multicast and broadcast to 22;
  3  GRE_TUN_TO_LV: tunnel id -> this node's local VLAN, then 10;
  10 LEARN_FROM_TUN: learn (VLAN, source MAC) -> (tunnel id, tunnel port) into table 20,
     and out to br-int;
  20 UCAST_TO_TUN: the learned flows (strip the VLAN, set the tunnel id, out the tunnel);
     an unknown MAC goes to 22;
  22 FLOOD_TO_TUN: per local VLAN, strip it, set the tunnel id, out every tunnel.
"""
import ipaddress

from harness import Container, Experiment, Parameter
from harness.counters import connections, port_packets, rule_packets, table_packets
from harness.topology import Link, Topology

# Port ids (Neutron derives device names from their first 11 characters) and MACs.
VM_A, VM_B, ROUTER_A, ROUTER_B, GATEWAY_A = "a0000001-aa", "b0000001-bb", "a0000002-aa", "b0000002-bb", "e0000001-ee"
MAC = {"vma": "fa:16:3e:00:0a:03", "vmb": "fa:16:3e:00:0b:04", "qr-a": "fa:16:3e:00:0a:01",
       "qr-b": "fa:16:3e:00:0b:01", "qg-a": "fa:16:3e:00:0e:0a"}
# Each tenant network: its GRE tunnel id (the segmentation id) and its local VLAN on each
# node; Neutron's agents number local VLANs per node, so they need not agree.
NETWORKS = {"a": {"tun_id": 0x64, "compute": 1, "network": 2},
            "b": {"tun_id": 0xc8, "compute": 2, "network": 1}}
ENDPOINTS = {"compute": "172.16.0.11", "network": "172.16.0.12"}
EXTERNAL_HOST, ROUTER_GATEWAY = "172.24.4.1", "172.24.4.10"
ALLOWED_TCP, REFUSED_TCP = 80, 8080
PATCH, TUNNEL = 1, 2        # br-tun's OpenFlow ports: the patch to br-int, the GRE port
TUNNEL_TX_COUNTS = {"user": 2, "kernel": 1}     # tx_packets per frame sent into a tunnel, measured


def other(node):
    return "network" if node == "compute" else "compute"


def tunnel_port(remote):
    """Neutron's name of the tunnel port to `remote`: gre- and the address in hex."""
    return f"gre-{int(ipaddress.ip_address(remote)):08x}"


def security_group_chains(port):
    """Neutron's names of a port's ingress and egress chains (at most 28 characters)."""
    return f"neutron-openvswi-i{port[:10]}", f"neutron-openvswi-o{port[:10]}"


class NeutronJourney(Experiment):
    """A VM reaches the internet through br-int, br-tun, GRE, a router namespace and SNAT."""

    count = Parameter(int, 3, "echo requests of the journey's ping", minimum=1, maximum=20)
    vms_as = Parameter(str, "namespace", "namespace (Mininet hosts) or container (Docker containers of the "
                       "instance image, as nova-docker runs instances)", choices=("namespace", "container"))

    @property
    def topology(self):
        return Topology(
            switches=[],
            ovs_nodes=["compute", "network"],
            links=[
                Link("vma", "compute", intf1="eth0", ip1="10.0.0.3/24", mac1=MAC["vma"], intf2=f"tap{VM_A}"),
                Link("vmb", "compute", intf1="eth0", ip1="10.0.0.4/24", mac1=MAC["vmb"], intf2=f"tap{VM_B}"),
                Link("compute", "network", intf1="eth1", intf2="eth1"),     # the underlay
                Link("qroutera", "network", intf1=f"qr-{ROUTER_A}", ip1="10.0.0.1/24", mac1=MAC["qr-a"],
                     intf2=f"pqr-{ROUTER_A}"),
                Link("qroutera", "network", intf1=f"qg-{GATEWAY_A}", ip1=f"{ROUTER_GATEWAY}/24", mac1=MAC["qg-a"],
                     intf2=f"pqg-{GATEWAY_A}"),
                # Tenant B's router has tenant A's router's address: their networks overlap.
                Link("qrouterb", "network", intf1=f"qr-{ROUTER_B}", ip1="10.0.0.1/24", mac1=MAC["qr-b"],
                     intf2=f"pqr-{ROUTER_B}"),
                Link("ext", "network", intf1="eth0", ip1=f"{EXTERNAL_HOST}/24", intf2="eth2"),
            ],
            routes={"vma": "10.0.0.1", "vmb": "10.0.0.1", "qroutera": EXTERNAL_HOST},
            description="compute and network nodes (each its own Open vSwitch), two tenants' VMs, "
                        "two routers, an external host",
            containers=dict.fromkeys(("vma", "vmb"), Container()) if self.vms_as == "container" else None)

    def run(self, lab):
        with lab.step("the OVS agent and the firewall wire the compute node"):
            self.tunnel_bridges(lab, "compute")
            for vm, port in (("a", VM_A), ("b", VM_B)):
                lab.veth("compute", f"qvb{port}", f"qvo{port}")
                lab.linux_bridge("compute", f"qbr{port}", [f"tap{port}", f"qvb{port}"])
                lab.add_port("compute/br-int", f"qvo{port}", tag=NETWORKS[vm]["compute"])
            self.security_group(lab, VM_A)
            lab.check.that("compute/br-int's ports", lambda snap: sorted(
                row["port_name"] for row in snap.ports["compute/br-int"] if row["port"] > 0),
                expected=sorted(["patch-tun", f"qvo{VM_A}", f"qvo{VM_B}"]),
                why="the patch to br-tun and each VM's qvo, tagged with its network's local VLAN")

        with lab.step("the L3 agent wires the network node"):
            self.tunnel_bridges(lab, "network")
            lab.add_bridge("network", "br-ex", fail_mode="standalone")
            for tenant, port in (("a", ROUTER_A), ("b", ROUTER_B)):
                lab.add_port("network/br-int", f"pqr-{port}", tag=NETWORKS[tenant]["network"])
            lab.add_port("network/br-ex", f"pqg-{GATEWAY_A}")
            lab.add_port("network/br-ex", "eth2")
            lab.run("qroutera", ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            lab.iptables("qroutera", ["-N", "neutron-l3-agent-snat"], table="nat")
            lab.iptables("qroutera", ["-A", "POSTROUTING", "-j", "neutron-l3-agent-snat"], table="nat")
            lab.iptables("qroutera", ["-A", "neutron-l3-agent-snat", "-o", f"qg-{GATEWAY_A}", "-j", "SNAT",
                                      "--to-source", ROUTER_GATEWAY], table="nat")
            # The tunnel endpoints resolve each other (OVS's userspace tunnels learn the remote
            # endpoint's MAC from the ARP they see on br-phy, and drop a frame until they have it).
            lab.run("compute", ["ping", "-c", "1", "-W", "2", ENDPOINTS["network"]])
            lab.check.that("network/br-int's ports", lambda snap: sorted(
                row["port_name"] for row in snap.ports["network/br-int"] if row["port"] > 0),
                expected=sorted(["patch-tun", f"pqr-{ROUTER_A}", f"pqr-{ROUTER_B}"]),
                why="the patch to br-tun and each router's qr- port, in its network's local VLAN")

        with lab.step("the VMs find their gateways"):
            lab.ping("vma", "ext", count=1)
            lab.ping("vmb", "qrouterb", count=1)
            lab.check.ping_loss("vma", "ext", percent=0, why="the first packet, ARP included, gets through")
            lab.check.ping_loss("vmb", "qrouterb", percent=0, why="tenant B reaches its own router, 10.0.0.1 too")
            for node, (mac, tenant) in (("compute", (MAC["qr-a"], "a")), ("compute", (MAC["qr-b"], "b")),
                                        ("network", (MAC["vma"], "a")), ("network", (MAC["vmb"], "b"))):
                self.check_learned(lab, node, mac, tenant)

        with lab.step("the journey: vma pings the internet"):
            lab.run("qroutera", ["conntrack", "-F"])
            lab.capture("ext")
            lab.capture("qrouterb")
            self.trace_journey(lab)
            lab.ping("vma", "ext", count=self.count, interval=0.2)
            self.check_journey(lab)

        with lab.step("the security group drops a TCP port it does not allow"):
            lab.tcp_syn("vma", EXTERNAL_HOST, REFUSED_TCP)
            lab.tcp_syn("vma", EXTERNAL_HOST, ALLOWED_TCP)
            _ingress, egress = security_group_chains(VM_A)
            lab.check.moved(rule_packets("compute", egress, "-j DROP"), 1,
                            why=f"the one SYN to port {REFUSED_TCP}: no rule of the group allows it")
            lab.check.moved(rule_packets("compute", egress, f"--dport {ALLOWED_TCP}"), 1,
                            why=f"the one SYN to port {ALLOWED_TCP}, which the group allows")
            lab.check.moved(port_packets("compute/br-int", f"qvo{VM_A}", "rx"), 1,
                            why="only the allowed SYN reaches br-int; the dropped one stopped at qbr")
            lab.check.that("ports of the TCP SYNs ext received", lambda snap: [
                frame["dst_port"] for frame in snap.step_frames("ext") if frame["kind"] == "tcp syn"],
                expected=[ALLOWED_TCP], why="the allowed SYN got through, the other did not")

        with lab.step("tenants are isolated although their addresses overlap"):
            lab.ping("vma", "vmb", count=1)
            lab.check.ping_loss("vma", "vmb", percent=100,
                                why="10.0.0.4 is tenant B's VM: tenant A's network has no such address")
            lab.check.that("frames from vma seen by tenant B's router", lambda snap: len(
                [frame for frame in snap.frames.get("qrouterb", []) if frame["src_mac"] == MAC["vma"]]),
                expected=0, why="tenant A's frames carry tenant A's tunnel id and local VLANs only")

    # -- the agents' work ----------------------------------------------------------------------

    def tunnel_bridges(self, lab, node):
        """br-int (NORMAL, as Neutron's br-int forwards), br-tun with Neutron's GRE tables,
        the patch ports between them, and br-phy holding the underlay and the tunnel endpoint."""
        br_int, br_tun, br_phy = (lab.add_bridge(node, name) for name in ("br-int", "br-tun", "br-phy"))
        lab.flows.add(br_int, "table=0,priority=0,actions=NORMAL")
        lab.flows.add(br_phy, "table=0,priority=0,actions=NORMAL")
        lab.add_port(br_phy, "eth1")
        lab.address(node, "br-phy", f"{ENDPOINTS[node]}/24")
        lab.patch(br_int, "patch-tun", br_tun, "patch-int", ofport2=PATCH)
        remote = ENDPOINTS[other(node)]
        lab.add_port(br_tun, tunnel_port(remote), type="gre", ofport=TUNNEL, options={"remote_ip": remote, "key": "flow"})
        for flow in (f"table=0,priority=1,in_port={PATCH},actions=resubmit(,2)",
                     f"table=0,priority=1,in_port={TUNNEL},actions=resubmit(,3)",
                     "table=0,priority=0,actions=drop",
                     "table=2,priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,20)",
                     "table=2,priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,22)",
                     "table=3,priority=0,actions=drop",
                     "table=10,priority=1,actions=learn(table=20,hard_timeout=300,priority=1,cookie=0x1,"
                     "NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],"
                     f"load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],output:OXM_OF_IN_PORT[]),output:{PATCH}",
                     "table=20,priority=0,actions=resubmit(,22)",
                     "table=22,priority=0,actions=drop"):
            lab.flows.add(br_tun, flow)
        for network in NETWORKS.values():
            vlan, tun_id = network[node], network["tun_id"]
            lab.flows.add(br_tun, f"table=3,priority=1,tun_id={tun_id:#x},actions=mod_vlan_vid:{vlan},resubmit(,10)")
            lab.flows.add(br_tun, f"table=22,priority=1,dl_vlan={vlan},actions=strip_vlan,set_tunnel:{tun_id:#x},"
                                  f"output:{TUNNEL}")

    def security_group(self, lab, port):
        """The hybrid firewall's chains for `port`: ICMP and one TCP port out, replies and
        ICMP in, the rest dropped; packets bridged through qbr reach them (br_netfilter)."""
        ingress, egress = security_group_chains(port)
        rules = [["-N", "neutron-openvswi-sg-chain"], ["-N", ingress], ["-N", egress],
                 ["-A", "FORWARD", "-j", "neutron-openvswi-sg-chain"],
                 ["-A", "neutron-openvswi-sg-chain", "-m", "physdev", "--physdev-out", f"tap{port}",
                  "--physdev-is-bridged", "-j", ingress],
                 ["-A", "neutron-openvswi-sg-chain", "-m", "physdev", "--physdev-in", f"tap{port}",
                  "--physdev-is-bridged", "-j", egress]]
        for chain, allowed in ((ingress, [["-p", "icmp"]]), (egress, [["-p", "icmp"], ["-p", "tcp", "--dport", str(ALLOWED_TCP)]])):
            rules += [["-A", chain, "-m", "state", "--state", "RELATED,ESTABLISHED", "-j", "RETURN"],
                      *(["-A", chain, *match, "-j", "RETURN"] for match in allowed),
                      ["-A", chain, "-j", "DROP"]]
        for rule in rules:
            lab.iptables("compute", rule)

    # -- what to see ---------------------------------------------------------------------------

    def check_learned(self, lab, node, mac, tenant):
        vlan, tun_id = NETWORKS[tenant][node], NETWORKS[tenant]["tun_id"]
        lab.check.that(f"{node}/br-tun learned {mac}", lambda snap: [
            flow["actions"] for flow in snap.flows[f"{node}/br-tun"]
            if flow["table"] == 20 and f"dl_dst={mac}" in flow["match"] and f"vlan_tci={vlan:#06x}/0x0fff" in flow["match"]],
            expected=[f"load:0->NXM_OF_VLAN_TCI[],load:{tun_id:#x}->NXM_NX_TUN_ID[],output:{TUNNEL}"],
            why=f"table 10 learned the MAC from a frame that came by the tunnel with id {tun_id:#x}: in local "
                f"VLAN {vlan} it now goes back by that tunnel, with that id, untagged")

    def trace_journey(self, lab):
        request = f"icmp,dl_src={MAC['vma']},dl_dst={MAC['qr-a']},nw_src=10.0.0.3,nw_dst={EXTERNAL_HOST},icmp_type=8"
        reply = f"icmp,dl_src={MAC['qr-a']},dl_dst={MAC['vma']},nw_src={EXTERNAL_HOST},nw_dst=10.0.0.3,icmp_type=0"
        tun_id = NETWORKS["a"]["tun_id"]
        lab.trace("compute/br-int", f"in_port=qvo{VM_A},{request}", "request at compute/br-int")
        lab.trace("network/br-tun", f"in_port={TUNNEL},tun_id={tun_id:#x},{request}", "request at network/br-tun")
        lab.trace("network/br-int", f"in_port=pqr-{ROUTER_A},{reply}", "reply at network/br-int")
        lab.trace("compute/br-tun", f"in_port={TUNNEL},tun_id={tun_id:#x},{reply}", "reply at compute/br-tun")
        for packet in ("request at compute/br-int", "reply at network/br-int"):
            lab.check.trace_shows(packet, "load:0->NXM_OF_VLAN_TCI[]", f"load:{tun_id:#x}->NXM_NX_TUN_ID[]",
                                  why="through the patch port into br-tun, whose learned flow strips the local "
                                      "VLAN and sets tenant A's tunnel id")
        for packet, node in (("request at network/br-tun", "network"), ("reply at compute/br-tun", "compute")):
            lab.check.trace_shows(packet, f"mod_vlan_vid:{NETWORKS['a'][node]}",
                                  why=f"the tunnel id becomes tenant A's local VLAN on {node}")

    def check_journey(self, lab):
        count = self.count
        _ingress, egress = security_group_chains(VM_A)
        lab.check.ping_loss("vma", "ext", percent=0)
        lab.check.crossed("1 vma > qbr security group", count,
                          request=rule_packets("compute", "neutron-openvswi-sg-chain", f"--physdev-in tap{VM_A}"),
                          reply=rule_packets("compute", "neutron-openvswi-sg-chain", f"--physdev-out tap{VM_A}"),
                          why=f"each of the {count} echo requests leaves by the egress chain, each reply comes "
                              "in by the ingress chain (ARP does not cross iptables)")
        lab.check.crossed("1 qvo > compute/br-int", count,
                          request=port_packets("compute/br-int", f"qvo{VM_A}", "rx"),
                          reply=port_packets("compute/br-int", f"qvo{VM_A}", "tx"),
                          why="ARP was resolved in the step before: only the echoes cross")
        lab.check.crossed("2 compute/br-int > br-tun", count,
                          request=table_packets("compute/br-tun", 2), reply=table_packets("compute/br-tun", 3),
                          why="requests come from the patch port (table 2), replies from the tunnel (table 3)")
        gre = {node: tunnel_port(ENDPOINTS[other(node)]) for node in ENDPOINTS}
        lab.check.crossed("3 GRE compute > network", count,
                          request=port_packets("network/br-tun", gre["network"], "rx"),
                          reply=port_packets("compute/br-tun", gre["compute"], "rx"),
                          why="every echo arrives once through the tunnel, requests at the network node, replies "
                              "at the compute node")
        sent = count * TUNNEL_TX_COUNTS[lab.datapath]
        for node in ENDPOINTS:
            lab.check.moved(port_packets(f"{node}/br-tun", gre[node], "tx"), sent,
                            why=f"the {count} echoes {node} sent into the tunnel, counted "
                                f"{TUNNEL_TX_COUNTS[lab.datapath]} time(s) each by this datapath "
                                "(measured: OVS 3.1's userspace datapath counts a tunnelled frame twice in "
                                "its tunnel port's tx_packets, the kernel's once)")
        lab.check.crossed("4 network/br-tun > br-int", count,
                          request=table_packets("network/br-tun", 3), reply=table_packets("network/br-tun", 2),
                          why="requests come from the tunnel (table 3), replies from the patch port (table 2)")
        lab.check.crossed("4 network/br-int > qr-", count,
                          request=port_packets("network/br-int", f"pqr-{ROUTER_A}", "tx"),
                          reply=port_packets("network/br-int", f"pqr-{ROUTER_A}", "rx"),
                          why="br-int delivers tenant A's local VLAN to router A's qr- port only")
        lab.check.crossed("5 qg- > br-ex", count,
                          request=port_packets("network/br-ex", f"pqg-{GATEWAY_A}", "rx"),
                          reply=port_packets("network/br-ex", f"pqg-{GATEWAY_A}", "tx"),
                          why="the router forwards every echo out of its gateway port, and the replies back")
        lab.check.moved(rule_packets("qroutera", "neutron-l3-agent-snat", "SNAT", table="nat"), 1,
                        why="a NAT rule sees a connection's first packet only; conntrack translates the rest")
        translated = connections("qroutera", protocol="icmp", src="10.0.0.3", dst=EXTERNAL_HOST,
                                 reply_dst=ROUTER_GATEWAY)
        lab.check.that(translated.label, translated, expected=1,
                       why="the ping is one ICMP connection (conntrack was flushed when the step began), "
                           "its replies addressed to the router's gateway address")
        lab.check.that("source addresses of the echo requests ext received", lambda snap: sorted(
            {frame["ip_src"] for frame in snap.step_frames("ext") if frame["kind"] == "echo request"}),
            expected=[ROUTER_GATEWAY], why="SNAT: the outside only ever sees the router's gateway address")
        lab.check.frames_seen("ext", count, kind="echo request", why="every request reached the outside")
        lab.check.that("frames from vma at tenant B's router", lambda snap: len(
            [frame for frame in snap.step_frames("qrouterb") if frame["src_mac"] == MAC["vma"]]),
            expected=0, why="tenant B's router is in another local VLAN and tunnel id, though its address is the same")
        lab.check.moved(rule_packets("compute", egress, "-j DROP"), 0, why="the group allows ICMP")

