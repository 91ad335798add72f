"""MAC learning at scale: the blog's NORMAL-mode lesson, grown from three hosts to hundreds.

One switch with N hosts (`mn --topo=single,N`), a chain of K switches (`linear,K,n`) or a
tree (`tree,depth,fanout`). Every switch gets the NORMAL flow; then every host sends one
broadcast frame, all at once. NORMAL floods each one everywhere, and every switch learns
every sender on the port the frame came in on. The run measures how long that took, how
many frames reached the hosts, and how fast all pairs then reach each other.

Its `measurements` table (build time, time until every MAC is learned, all-pairs probe
time), with the fdb, ports and reachability tables, give one row per N for the report:
run it for several sizes and compare them (`report --compare`).
"""
import time

from harness import Experiment, Parameter
from harness.topology import MOST_HOSTS, SHAPES, topology_of_shape



class MacLearningScale(Experiment):
    """MAC learning at scale: time until NORMAL knows every host, and what flooding delivers."""

    # At scale the all-pairs probe needs more datapath flows than ovs-vswitchd's dynamic
    # limit (27,000 here on a chain of 32 switches): it says so once in a while, and handles
    # the packets beyond the limit in its slow path, which still forwards them (the probe's
    # check says whether every pair got through).
    expected_switch_warnings = (r"upcall: datapath reached the dynamic limit of \d+ flows",)

    shape = Parameter(str, "single", "single (one switch), linear (a chain) or tree",
                      choices=SHAPES)
    hosts = Parameter(int, 16, "hosts on the switch", minimum=2, maximum=MOST_HOSTS, shapes="single")
    switches = Parameter(int, 4, "switches in the chain", minimum=2, maximum=64, shapes="linear")
    hosts_per_switch = Parameter(int, 2, "hosts on each switch of the chain", minimum=1, maximum=16,
                                 shapes="linear")
    depth = Parameter(int, 2, "levels of switches", minimum=1, maximum=4, shapes="tree")
    fanout = Parameter(int, 2, "children of each switch; the leaves' children are hosts",
                       minimum=2, maximum=8, shapes="tree")

    @property
    def topology(self):
        return topology_of_shape(self.shape, hosts=self.hosts, switches=self.switches,
                                 hosts_per_switch=self.hosts_per_switch, depth=self.depth, fanout=self.fanout)

    def run(self, lab):
        switches, hosts = lab.network.switches(), lab.network.hosts()

        with lab.step("build"):
            lab.measure("build (Mininet, OVS, every port verified)", lab.build_seconds, "s")
            for switch in switches:
                lab.check.mac_table_empty(switch, why="nothing has been sent yet")

        with lab.step("add NORMAL flows"):
            for switch in switches:
                lab.flows.add(switch, "action=normal")
                lab.check.flow_actions(switch, ["NORMAL"], why="one flow: everything to NORMAL")

        with lab.step("every host broadcasts once"):
            seconds = lab.announce_hosts()
            lab.measure("time until every switch learned every host", seconds, "s")
            for switch in switches:
                lab.check.every_mac_learned(switch, hosts, why="NORMAL floods a broadcast to every "
                                            "switch, and each learns its sender's MAC")
            lab.check.frames_to_hosts(lab.network.host_ports(), len(hosts) * (len(hosts) - 1),
                                      why="each host's broadcast reaches every other host once, "
                                      "and nothing else is sent")

        with lab.step("all pairs"):
            started = time.monotonic()
            # The lesson is MAC learning, not ARP: every ARP entry is filled first, so the
            # probe is unicast echoes only, and every MAC is known.
            lab.reachability(resolve="static")
            lab.measure("all-pairs reachability probe", time.monotonic() - started, "s")
            lab.check.all_reachable(why="every MAC is known, so NORMAL forwards every pair")
