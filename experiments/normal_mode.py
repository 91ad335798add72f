"""NORMAL mode in OVS: the switch learns MACs only from the frames it forwards.

Reproduces steps 1 to 5 of the blog post "NORMAL mode in OVS - MAC learning": one switch,
three hosts (`mn --topo=single,3 --controller=none --mac`), no controller and no flows.
The same lesson holds on a chain of switches (`-p shape=linear`) or a tree (`-p shape=tree`),
with every switch in NORMAL mode: h1's broadcast ARP request teaches every switch where h1
is, while only the switches between h1 and h2 see h2's unicast replies and learn h2.
With `-p hosts_as=container` every host is a Docker container of the project's instance
image (the seed's nova-docker post): the switch sees the same frames, so every count holds.
"""
from harness import Container, Experiment, Parameter
from harness.topology import MOST_HOSTS, SHAPES, topology_of_shape


class NormalMode(Experiment):
    """NORMAL mode in OVS: the switch learns MACs only from the frames it forwards."""

    shape = Parameter(str, "single", "single (the blog's one switch), linear (a chain, one host "
                      "per switch) or tree", choices=SHAPES)
    hosts = Parameter(int, 3, "hosts on the switch; h1 pings h2, the others stay silent",
                      minimum=3, maximum=MOST_HOSTS, shapes="single")
    switches = Parameter(int, 3, "switches in the chain, each with one host", minimum=2, maximum=64,
                         shapes="linear")
    depth = Parameter(int, 2, "levels of switches", minimum=1, maximum=4, shapes="tree")
    fanout = Parameter(int, 2, "children of each switch; h1 and h2 share the first leaf switch",
                       minimum=2, maximum=6, shapes="tree")
    count = Parameter(int, 2, "echo requests per ping", minimum=1, maximum=100)
    interval_ms = Parameter(int, 1000, "milliseconds between echo requests (ping -i); ARP sends the same "
                            "frames whatever it is", minimum=200, maximum=1000)
    static_arp = Parameter(bool, False, "give every host every other host's MAC, so no ARP is sent")
    hosts_as = Parameter(str, "namespace", "namespace (Mininet's hosts) or container (Docker containers of "
                         "the instance image, wired the same way)", choices=("namespace", "container"))

    @property
    def topology(self):
        return topology_of_shape(self.shape, hosts=self.hosts, switches=self.switches, hosts_per_switch=1,
                                 depth=self.depth, fanout=self.fanout,
                                 containers=Container() if self.hosts_as == "container" else None)

    def run(self, lab):
        switches = lab.network.switches()
        between = lab.network.switches_between("h1", "h2")
        silent = [host for host in lab.network.hosts() if host not in ("h1", "h2")]
        if self.static_arp:
            lab.static_arp()

        with lab.step("build"):
            for switch in switches:
                lab.check.mac_table_empty(switch, why="nobody has sent anything yet")
                lab.check.flow_table_empty(switch, why="no controller and no flows were added")

        with lab.step("ping without flows"):
            lab.ping("h1", "h2", count=self.count, interval=self.interval_ms / 1000)
            lab.check.ping_loss("h1", "h2", percent=100,
                                why="with no flows the switch drops every frame")

        with lab.step("add NORMAL flow"):
            for switch in switches:
                lab.flows.add(switch, "action=normal")
                lab.check.flow_actions(switch, ["NORMAL"], why="one flow: send everything to NORMAL")
                lab.check.mac_table_empty(switch, why="a flow alone teaches the switch nothing")

        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=self.count, interval=self.interval_ms / 1000)
            lab.check.ping_loss("h1", "h2", percent=0, why="NORMAL forwards like an L2 switch")
            for switch in switches:
                self._check_learning(lab, switch, on_the_way=switch in between)
                for host in silent:
                    lab.check.mac_not_learned(switch, host, why=f"{host} sent nothing, so it is not learned")
                packets, frames = self._frames_seen(on_the_way=switch in between)
                lab.check.flow_packets(switch, packets, actions="NORMAL", why=frames)
                lab.check.flows_count_every_frame(switch)

    def _check_learning(self, lab, switch, on_the_way):
        """A switch between h1 and h2 learns both. Any other sees one frame of h1's, flooded
        everywhere: its broadcast ARP request, or with static ARP its first echo request, sent
        before any switch had learned h2. So it learns h1, and not h2."""
        toward_h1, toward_h2 = (lab.network.port_toward(switch, host) for host in ("h1", "h2"))
        lab.check.mac_learned(switch, "h1", port=toward_h1, why=f"h1's frames came in on port {toward_h1}")
        if on_the_way:
            lab.check.mac_learned(switch, "h2", port=toward_h2, why=f"h2's replies came in on port {toward_h2}")
        else:
            lab.check.mac_not_learned(switch, "h2", why="h2 sent only unicast frames to h1, another way")

    def _frames_seen(self, on_the_way):
        """Return how many frames of the ping a switch forwards, and which they are."""
        if not on_the_way:
            return 1, ("h1's first echo request, flooded: no switch knew h2 yet" if self.static_arp
                       else "h1's broadcast ARP request, flooded everywhere")
        arp = "no ARP: static entries" if self.static_arp else (
            "h1's ARP request, h2's ARP reply, and h2 confirming h1's MAC a second later "
            "(a unicast ARP request and h1's reply)")
        return (2 * self.count + (0 if self.static_arp else 4),
                f"{self.count} echo requests, {self.count} replies; {arp}")
