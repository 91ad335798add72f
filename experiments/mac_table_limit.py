"""A full MAC table: NORMAL never holds more than mac-table-size entries, and evicts fairly.

ovs-vswitchd.conf.db(5), Bridge table, other_config:mac-table-size: "The maximum number of
MAC addresses to learn ... forced into a reasonable range, currently 10 to 1,000,000". Which
entry makes room is OVS's policy in lib/mac-learning.c (evict_mac_entry_fairly): "Finds one
of the ports with the most MAC entries and evicts its least recently used entry", so a port
flooded with MACs cannot push out the hosts of the others, as plain LRU would.

    h1 ─┐                  ┌─ h3 ... h(N+2)
        s1 ─── port 3 ──── s2
    h2 ─┘  mac-table-size=10

s1 learns h1 and h2, then the N hosts behind s2 announce themselves one by one, all behind
s1's port 3. From the 11th MAC on, each new one evicts the oldest of port 3, never h1 or h2.
"""
from harness import Experiment, Link, Parameter, Topology

TABLE_SIZE = 10     # OVS's smallest mac-table-size


class MacTableLimit(Experiment):
    """A full MAC table: never more than mac-table-size entries, and the busiest port's oldest goes."""

    remote_hosts = Parameter(int, 12, f"hosts behind s2, which s1 learns on one port (more than "
                             f"{TABLE_SIZE - 2} overflow s1's table of {TABLE_SIZE})",
                             minimum=TABLE_SIZE - 1, maximum=40)

    @property
    def topology(self):
        remote = [f"h{index}" for index in range(3, self.remote_hosts + 3)]
        return Topology(switches=["s1", "s2"],
                        links=[Link("h1", "s1"), Link("h2", "s1"), Link("s1", "s2"),
                               *(Link(host, "s2") for host in remote)],
                        bridges={"s1": {"mac-table-size": TABLE_SIZE}},
                        description=f"s1 (h1, h2, mac-table-size {TABLE_SIZE}) linked to s2 "
                                    f"({self.remote_hosts} hosts)")

    def run(self, lab):
        remote = lab.network.hosts()[2:]
        kept = TABLE_SIZE - 2       # the entries port 3 may hold beside h1's and h2's
        evicted, survivors = remote[:-kept], remote[-kept:]
        for switch in lab.network.switches():
            lab.flows.add(switch, "action=normal")
        lab.static_arp()

        with lab.step("h1 ping h2"):
            lab.ping("h1", "h2", count=1)
            lab.check.mac_learned("s1", "h1", port=1)
            lab.check.mac_learned("s1", "h2", port=2)

        with lab.step(f"{len(remote)} hosts behind s2 announce themselves, one by one"):
            for host in remote:
                lab.announce(host, learned_by=["s1"])
            lab.check.mac_table_size("s1", TABLE_SIZE, why=f"mac-table-size={TABLE_SIZE}: the table is full, "
                                     "and never holds more")
            lab.check.mac_table_counted("s1", "evicted", len(evicted),
                                        why=f"{2 + len(remote)} MACs for {TABLE_SIZE} entries: each MAC past the "
                                            f"{TABLE_SIZE}th evicts one")
            lab.check.every_mac_learned("s1", ["h1", "h2", *survivors],
                                        why="port 3 holds the most entries, so only its entries are evicted; "
                                            "h1 and h2, though older, stay")
            for host in evicted:
                lab.check.mac_not_learned("s1", host, why="the least recently used entry of port 3 goes first")
