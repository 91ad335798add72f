"""Instances as Docker containers, plugged into br-int: the seed's first post, "Nova Docker
Installation".

nova-docker boots an OpenStack instance as a Docker container on a compute node: the
instance has its own root file system and processes, Docker's own networking is disabled
(`network_disabled: True` in the driver's `spawn`), and the driver gives it its one network
interface: a veth whose one end is plugged into the node's br-int and whose other end is
moved into the container's network namespace. The post's rootwrap filter for `ln -sf
/var/run/netns/...` is that step: the driver names the container's namespace so that `ip
netns` can move the interface into it.

Here a compute node (its own Open vSwitch) runs three instances of the project's instance
image (busybox, whose HTTP server on port 80 is the instance's service): web1 and web2 on
tenant A's network, web3 on tenant B's. As Neutron's OVS agent does, each instance's tap
port on br-int is tagged with its network's local VLAN, and br-int forwards with NORMAL.
The steps:
 1. the instances boot: each is a container whose first process is its service and whose
    only interface is the one the driver plugs in;
 2. the OVS agent plugs the taps into br-int, one local VLAN per network;
 3. web1 pings web2, as in the NORMAL post: br-int forwards and learns within tenant A only;
 4. web1 fetches web2's page with its own wget, from web2's own HTTP server;
 5. a flow drops HTTP to web2 (a security group as the OVS firewall driver writes it, in
    flows): a connection attempt stops at br-int, while ping still passes;
 6. tenant B's instance cannot reach tenant A's: its ARP requests stay in its own VLAN.
"""
from harness import Container, Experiment, Parameter
from harness.containers import INSTANCE_PAGE
from harness.counters import flow_packets, port_packets
from harness.topology import Link, Topology

# Each instance: its Neutron port id (the tap is named from its first 11 characters), its
# address, its MAC, and its network.
INSTANCES = {"web1": ("c0000001-11", "10.0.0.3", "fa:16:3e:00:0a:03", "a"),
             "web2": ("c0000002-22", "10.0.0.4", "fa:16:3e:00:0a:04", "a"),
             "web3": ("c0000003-33", "10.0.0.5", "fa:16:3e:00:0b:05", "b")}
LOCAL_VLANS = {"a": 1, "b": 2}      # the OVS agent's local VLAN of each network on this node
NORMAL_FLOW = "priority=0"
HTTP_TO_WEB2 = f"priority=10,tcp,nw_dst={INSTANCES['web2'][1]},tp_dst=80"
SERVICE = "/bin/httpd -f -p 80 -h /www"     # the instance image's command


def tap(instance):
    return f"tap{INSTANCES[instance][0]}"


class NovaDocker(Experiment):
    """Instances that are Docker containers, plugged into br-int by their tap ports."""

    count = Parameter(int, 2, "echo requests of web1's ping to web2", minimum=1, maximum=20)

    topology = Topology(
        switches=[],
        ovs_nodes=["compute"],
        links=[Link(name, "compute", intf1="eth0", ip1=f"{ip}/24", mac1=mac, intf2=tap(name))
               for name, (_port, ip, mac, _network) in INSTANCES.items()],
        containers=dict.fromkeys(INSTANCES, Container()),
        description="a compute node (its own Open vSwitch) and three instances that are Docker containers")

    def run(self, lab):
        br_int = "compute/br-int"
        with lab.step("nova boots the instances as containers"):
            for instance in INSTANCES:
                processes = lab.run_in_container(instance, ["ps", "-o", "pid,args"])
                interfaces = lab.run_in_container(instance, ["cat", "/proc/net/dev"])
                lab.check.that(f"{instance}'s first process", lambda snap, out=processes: _first_process(out),
                               expected=SERVICE, why="the container runs its image's service as process 1, "
                                                     "in a process namespace of its own")
                lab.check.that(f"{instance}'s interfaces, seen from inside", lambda snap, out=interfaces:
                               _interfaces(out), expected=["eth0", "lo"],
                               why="Docker's networking is disabled: the only link is the one the driver plugs "
                                   "in (besides the fallback devices a kernel's tunnel modules put in every "
                                   "namespace, which are not links)")

        with lab.step("the OVS agent plugs the instances into br-int"):
            lab.add_bridge("compute", "br-int")
            lab.flows.add(br_int, f"table=0,{NORMAL_FLOW},actions=NORMAL")
            for instance, (_port, _ip, _mac, network) in INSTANCES.items():
                lab.add_port(br_int, tap(instance), tag=LOCAL_VLANS[network])
            lab.check.that("br-int's ports", lambda snap: sorted(
                row["port_name"] for row in snap.ports[br_int] if row["port"] > 0),
                expected=sorted(tap(instance) for instance in INSTANCES),
                why="one tap per instance, tagged with its network's local VLAN")

        with lab.step("web1 pings web2"):
            lab.ping("web1", "web2", count=self.count)
            lab.check.ping_loss("web1", "web2", percent=0, why="both are on tenant A's network, VLAN 1 on br-int")
            lab.check.moved(flow_packets(br_int, 0, NORMAL_FLOW), 2 * self.count + 4,
                            why=f"{self.count} echo requests, {self.count} replies; web1's ARP request, web2's "
                                "reply, and web2 confirming web1's MAC a second later (a unicast ARP request "
                                "and web1's reply), as on the NORMAL post's switch")
            lab.check.moved(port_packets(br_int, tap("web3"), "tx"), 0,
                            why="web1's broadcast ARP request is flooded in VLAN 1 only; web3 is in VLAN 2")

        with lab.step("web1 fetches web2's page"):
            page = lab.run_in_container("web1", ["wget", "-q", "-O", "-", f"http://{INSTANCES['web2'][1]}/"])
            lab.check.that("the page web1's wget got from web2", lambda snap: page, expected=INSTANCE_PAGE,
                           why="web2's HTTP server answers from inside its container, over br-int")
            lab.check.moved(port_packets(br_int, tap("web3"), "tx"), 0,
                            why="br-int knows both MACs since the ping: nothing is flooded")

        with lab.step("a flow drops HTTP to web2; ping still passes"):
            lab.flows.add(br_int, f"table=0,{HTTP_TO_WEB2},actions=drop")
            attempt = lab.tcp_syn("web1", INSTANCES["web2"][1], 80)
            lab.ping("web1", "web2", count=1)
            lab.check.that("web1's connection to web2 port 80", lambda snap: attempt, expected="timed out",
                           why="its SYN never reaches web2")
            lab.check.moved(flow_packets(br_int, 0, HTTP_TO_WEB2), 1,
                            why="the one SYN web1 sent, dropped at br-int before web2's tap")
            lab.check.ping_loss("web1", "web2", percent=0, why="the drop flow matches TCP port 80 only")

        with lab.step("tenant B's instance cannot reach tenant A's"):
            lab.ping("web3", "web1", count=1)
            lab.check.ping_loss("web3", "web1", percent=100, why="10.0.0.3 is on another network")
            lab.check.moved(port_packets(br_int, tap("web3"), "rx"), 3,
                            why="web3's three broadcast ARP requests for 10.0.0.3 (the kernel's "
                                "mcast_solicit), which nobody in VLAN 2 answers")
            for instance in ("web1", "web2"):
                lab.check.moved(port_packets(br_int, tap(instance), "tx"), 0,
                                why="br-int floods web3's requests in VLAN 2 only")


def _first_process(ps_output):
    """The command of process 1 in busybox `ps -o pid,args` output."""
    for line in ps_output.splitlines()[1:]:
        pid, _, command = line.strip().partition(" ")
        if pid == "1":
            return command.strip()
    return None


# The devices a tunnel module, once loaded, makes in every new network namespace (gre0,
# gretap0 and erspan0 by ip_gre, which a server of a run on several has loaded), unless
# net.core.fb_tunnels_only_for_init_net says otherwise: each stays down, and carries nothing.
FALLBACK_TUNNELS = {"gre0", "gretap0", "erspan0", "tunl0", "sit0", "ip6tnl0", "ip6gre0", "ip_vti0", "ip6_vti0"}


def _interfaces(proc_net_dev):
    """The interface names in /proc/net/dev but the kernel's fallback tunnels, sorted."""
    names = (line.split(":")[0].strip() for line in proc_net_dev.splitlines()[2:] if ":" in line)
    return sorted(name for name in names if name not in FALLBACK_TUNNELS)
