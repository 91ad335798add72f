"""A station move: a MAC that turns up on another port is learned there, and traffic follows.

The move is a VM migrating to another hypervisor: h3's port 3 on s1 is deleted and h3 comes
back on port 3 of s2 (Lab.move). OVS forgets every MAC learned on a port it deletes, and
not only on that bridge: ofproto-dpif.c's bundle_destroy flushes them "in all ofprotos",
every bridge of the same ovs-vswitchd. s1 and s2 run in one ovs-vswitchd here, so both
forget h3 at once. The next frame to h3 is flooded, reaches h3 at its new port, and
h3's reply teaches s2 the new port: s2's row for h3 goes from port 1 to port 3, and once
the datapath flows are revalidated, frames to h3 no longer go toward s1. (Within that
revalidation, a few hundred milliseconds, the flooding datapath flow may still send later
frames toward s1: seen in the kernel VM, so the experiment lets a step end between.)

On two servers (--cluster, s1 and s2 each on its own), the move is a migration between two
hypervisors' switches, and s2's ovs-vswitchd deleted no port: s2 still sends frames for h3
toward s1, which no longer knows h3 and floods them to h1 and h2 only. h3 is unreachable
until it is heard from, which is why a hypervisor announces a VM it has just received
(QEMU sends RARP frames from the VM's MAC): h3's broadcast teaches s2 port 3, and s1 port 4.

    h1 ─┐                          ┌─ h4
    h2 ─┼─ s1 port 4 ── port 1 s2 ─┤
    h3 ─┘                          └─ port 3: where h3 moves
"""
from harness import Experiment, Link, Parameter, Topology


class StationMove(Experiment):
    """A station move: a MAC seen on another port is learned there, and traffic follows it."""

    count = Parameter(int, 3, "echo requests of h4's second ping to h3 after the move", minimum=1, maximum=10)
    topology = Topology(switches=["s1", "s2"],
                        links=[Link("h1", "s1"), Link("h2", "s1"), Link("h3", "s1"), Link("s2", "s1"),
                               Link("h4", "s2")],
                        description="s1 (h1, h2, h3) linked to s2 (h4); h3 moves to s2")

    def run(self, lab):
        for switch in lab.network.switches():
            lab.flows.add(switch, "action=normal")
        lab.static_arp()
        toward_s1 = lab.capture("s2", 1)
        lab.capture("h3")

        with lab.step("every host announces itself"):
            lab.announce_hosts()
            lab.check.mac_learned("s1", "h3", port=3)
            lab.check.mac_learned("s2", "h3", port=1, why="s2 reaches h3 through s1")

        one_daemon = lab.network.same_vswitchd("s1", "s2")
        with lab.step("h3 moves to port 3 of s2"):
            lab.move("h3", "s2", 3)
            lab.check.mac_not_learned("s1", "h3", why="deleting s1's port 3 flushed the MACs learned on it")
            if one_daemon:
                lab.check.mac_not_learned("s2", "h3", why="ovs-vswitchd flushes a deleted port's MACs from every "
                                                          "bridge it runs, s2 included")
            else:
                lab.check.mac_learned("s2", "h3", port=1, why="s2's ovs-vswitchd, on another server, deleted no port: "
                                                              "s2 still reaches h3 through s1")

        if one_daemon:
            with lab.step("h4 ping h3 at its new port"):
                lab.ping("h4", "h3", count=1)
                lab.check.ping_loss("h4", "h3", percent=0)
                lab.check.frames_seen("h3", 1, kind="echo request", src="h4", dst="h3",
                                      why="s2 knew no port for h3: it flooded the request, and h3 got it")
                lab.check.frames_seen(toward_s1, 1, kind="echo request", src="h4", dst="h3",
                                      why="the flood sent a copy toward h3's old place too")
                lab.check.mac_learned("s2", "h3", port=3, why="h3's reply came in by port 3")
        else:
            with lab.step("h4 ping h3, which s2 still places behind s1"):
                lab.ping("h4", "h3", count=1)
                lab.check.ping_loss("h4", "h3", percent=100)
                lab.check.frames_seen(toward_s1, 1, kind="echo request", src="h4", dst="h3",
                                      why="s2 sent the request out of port 1, where it learned h3")
                lab.check.frames_not_seen("h3", kind="echo request", src="h4", dst="h3",
                                          why="s1 knows no port for h3 now: it flooded the request to h1 and h2")
            with lab.step("h3 announces itself, as its new hypervisor would"):
                lab.announce("h3", learned_by=["s1", "s2"])
                lab.check.mac_learned("s2", "h3", port=3, why="h3's broadcast came in by port 3")
                lab.check.mac_learned("s1", "h3", port=4, why="s2 flooded the broadcast to s1, which got it on "
                                                              "its port 4, from s2")

        # The step ended with a revalidator pass (every snapshot waits for one after traffic):
        # the datapath flow that sent h4's frames to h3 now follows the new entry.
        with lab.step("h4 ping h3 again"):
            lab.ping("h4", "h3", count=self.count, interval=0.2)
            lab.check.ping_loss("h4", "h3", percent=0)
            lab.check.frames_seen("h3", self.count, kind="echo request", src="h4", dst="h3")
            lab.check.frames_not_seen(toward_s1, kind="echo request", src="h4", dst="h3",
                                      why="s2 sends frames to h3 out of port 3 only: none go to its old place")
            if one_daemon:
                lab.check.mac_not_learned("s1", "h3", why="h3's replies go straight to h4: s1 never sees h3 again")
