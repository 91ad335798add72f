"""VLANs under NORMAL: one MAC table per VLAN, floods that stay in their VLAN, and a trunk
that carries both tagged.

ovs-vswitchd.conf.db(5), Port table, `tag` and `trunks`: an access port (tag=10) carries
one VLAN untagged, a trunk port carries the VLANs of `trunks` tagged; NORMAL learns a MAC
per VLAN (fdb/show's VLAN column) and floods a frame only to the ports of its VLAN.

    h1 (VLAN 10) ─┐            ┌─ h2 (VLAN 10)
                  s1 ══trunk══ s2
    h3 (VLAN 20) ─┘  10, 20    └─ h4 (VLAN 20)

h3 has h1's MAC: a MAC is learned per VLAN, so one switch may know it on two ports at once.
"""
from harness import Experiment, Link, Topology


class VlanNormal(Experiment):
    """VLANs under NORMAL: a MAC table per VLAN, floods that stay in their VLAN, a tagged trunk."""

    topology = Topology(
        switches=["s1", "s2"],
        links=[Link("h1", "s1", tag=10), Link("h2", "s2", tag=10),
               Link("h3", "s1", tag=20), Link("h4", "s2", tag=20),
               Link("s1", "s2", trunks=(10, 20))],
        macs={"h3": "00:00:00:00:00:01"},
        description="two switches joined by a trunk of VLANs 10 and 20; h1, h2 in VLAN 10, h3, h4 in VLAN 20")

    def run(self, lab):
        for switch in lab.network.switches():
            lab.flows.add(switch, "action=normal")
        trunk = lab.capture("s1", lab.network.port_toward("s1", "h2"))
        for host in lab.network.hosts():
            lab.capture(host)

        with lab.step("h1 ping h2 in VLAN 10"):
            lab.ping("h1", "h2", count=1)
            lab.check.ping_loss("h1", "h2", percent=0)
            lab.check.frames_seen("h2", 1, kind="arp request", src="h1", dst="broadcast",
                                  why="h1's ARP request is flooded to every port of VLAN 10")
            lab.check.frames_seen(trunk, 1, kind="arp request", src="h1", vlan=10,
                                  why="on the trunk, frames of VLAN 10 carry its tag")
            for host in ("h3", "h4"):
                lab.check.frames_not_seen(host, why=f"{host} is in VLAN 20: nothing of VLAN 10 reaches it")
            lab.check.mac_learned("s1", "h1", port=1, why="s1 learned h1 in VLAN 10 on its access port")
            lab.check.mac_learned("s2", "h1", port=3, why="s2 learned h1 in VLAN 10 behind the trunk")

        with lab.step("h3 ping h4 in VLAN 20"):
            lab.ping("h3", "h4", count=1)
            lab.check.ping_loss("h3", "h4", percent=0)
            lab.check.frames_seen(trunk, 1, kind="arp request", src="h3", vlan=20)
            for host in ("h1", "h2"):
                lab.check.frames_not_seen(host, why=f"{host} is in VLAN 10: nothing of VLAN 20 reaches it")
            shared = lab.network.mac("h1")
            lab.check.that(f"s1 learned {shared} in VLAN 10 on port 1 and in VLAN 20 on port 2",
                           lambda snap: sorted((row["vlan"], row["port"]) for row in snap.fdb["s1"]
                                               if row["mac"] == shared),
                           expected=[(10, 1), (20, 2)],
                           why="h1 and h3 share a MAC; NORMAL keeps one entry per (VLAN, MAC)")

        with lab.step("h1 ping h4 across VLANs"):
            lab.ping("h1", "h4", count=1)
            lab.check.ping_loss("h1", "h4", percent=100,
                                why="VLANs 10 and 20 are separate broadcast domains: no path between them")
            lab.check.frames_seen("h2", kind="arp request", src="h1", dst="broadcast",
                                  why="h1's ARP requests for h4 are flooded within VLAN 10")
            for host in ("h3", "h4"):
                lab.check.frames_not_seen(host, kind="arp request",
                                          why="a broadcast of VLAN 10 never reaches VLAN 20")
