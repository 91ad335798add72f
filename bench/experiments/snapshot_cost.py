"""Benchmark experiment: what one snapshot of a switch with N learned hosts costs, against the
same three commands typed by hand (dump-flows, fdb/show, dump-ports), on one network."""
import subprocess
import time

from harness import Experiment, Parameter, SingleSwitch

RAW_COMMANDS = (["ovs-ofctl", "dump-flows", "s1"], ["ovs-appctl", "fdb/show", "s1"], ["ovs-ofctl", "dump-ports", "s1"])


class SnapshotCost(Experiment):
    """A switch whose MAC table holds every host; its snapshots timed against the raw commands."""

    hosts = Parameter(int, 64, "hosts on the switch", minimum=2, maximum=254)
    repeats = Parameter(int, 5, "snapshots of each kind", minimum=1, maximum=50)

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)

    def run(self, lab):
        with lab.step("every host learned"):
            lab.flows.add("s1", "action=normal")
            lab.announce_hosts()
            lab.check.every_mac_learned("s1", lab.network.hosts())
        for index in range(1, self.repeats + 1):
            # Nothing is sent: each step's snapshot is the harness's whole observation of a
            # quiet switch (its metadata's snapshot_seconds), beside the raw commands' time.
            with lab.step(f"snapshot {index}"):
                if not lab.planning:
                    started = time.perf_counter()
                    for argv in RAW_COMMANDS:
                        subprocess.run(argv, capture_output=True, check=True)
                    lab.measure("raw commands", time.perf_counter() - started, "s")
                lab.check.mac_table_size("s1", self.hosts)
