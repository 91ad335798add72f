"""NORMAL and flow mode together: a higher-priority flow forwards frames for one host, and
NORMAL forwards the rest.

Reproduces steps 6 and 7 of the blog post "NORMAL mode in OVS - MAC learning", after its steps
1 to 5 (normal_mode): `ovs-ofctl add-flow s1 priority=60000,dl_dst=00:00:00:00:00:03,
actions=output:3`, then `h1 ping h3`, and who counted which frame.
"""
from harness import Parameter
from harness.errors import HarnessError

from experiments.normal_mode import NormalMode


class NormalPriority(NormalMode):
    """NORMAL and flow mode together: a priority flow for one host beside NORMAL."""

    # The blog's steps 6 and 7 are about its one switch: the shape is not a parameter here.
    shape, switches, depth, fanout = "single", None, None, None
    target = Parameter(str, "h3", "the host the priority flow sends frames to (h3..hN)",
                       pattern=r"h\d+")
    priority = Parameter(int, 60000, "the priority flow's priority: above NORMAL's 32768, so it wins",
                         minimum=32769, maximum=65535)

    def validate(self):
        silent = [f"h{index}" for index in range(3, self.hosts + 1)]
        if self.target not in silent:
            raise HarnessError(f"parameter target must be one of h3..h{self.hosts} "
                               f"(a host h1 has not pinged yet), not {self.target!r}")

    def run(self, lab):
        super().run(lab)
        target, port = self.target, lab.network.port_of(self.target, "s1")
        match = f"dl_dst={lab.network.mac(target)}"

        with lab.step("add priority flow"):
            lab.flows.add("s1", f"priority={self.priority},{match},actions=output:{port}")
            lab.check.flow_present("s1", priority=self.priority, match=match, actions=f"output:{port}",
                                   why=f"frames to {target}'s MAC go straight out of port {port}")
            lab.check.mac_not_learned("s1", target, why=f"{target} has still sent nothing")

        with lab.step(f"h1 ping {target}"):
            lab.ping("h1", target, count=self.count, interval=self.interval_ms / 1000)
            lab.trace_ping("s1", "h1", target)
            lab.check.ping_loss("h1", target, percent=0)
            if self.static_arp:
                to_target, to_normal = self.count, self.count
                why_target = f"h1's {self.count} echo requests to {target}; static ARP: no ARP frames"
                why_normal = f"{target}'s {self.count} echo replies to h1"
            else:
                to_target, to_normal = self.count + 1, self.count + 3
                why_target = (f"h1's {self.count} echo requests to {target}, and h1's unicast ARP reply "
                              f"when {target} confirms h1's MAC")
                why_normal = (f"h1's broadcast ARP request, {target}'s ARP reply, {target}'s "
                              f"{self.count} echo replies, and {target}'s unicast ARP request "
                              f"confirming h1's MAC")
            lab.check.flow_packets("s1", to_target, priority=self.priority, match=match, why=why_target)
            lab.check.flow_packets("s1", to_normal, actions="NORMAL", why=why_normal)
            lab.check.flows_count_every_frame("s1")
            lab.check.trace_hits("s1", f"h1 > {target} echo request", priority=self.priority,
                                 match=match, why="the priority flow wins over NORMAL")
            lab.check.trace_hits("s1", f"{target} > h1 echo reply", priority=32768,
                                 why="a reply to h1 matches only the NORMAL flow")
            lab.check.mac_learned("s1", target, port=port,
                                  why=f"NORMAL learned {target} from its replies, not from h1's requests")
