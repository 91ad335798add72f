"""Benchmark experiment: what a network of N hosts costs the machine once it is built and
quiet: memory in use, ovs-vswitchd's memory and its CPU while nothing is sent, and a
snapshot of every switch (the second step's). bench/machine_costs.py runs it at several sizes and takes the
differences, so what the harness's own process holds cancels out."""
import os
import time
from pathlib import Path

from harness import Experiment, Parameter
from harness.topology import MOST_HOSTS, SHAPES, topology_of_shape

IDLE_SECONDS = 5.0      # how long ovs-vswitchd's CPU time is watched while nothing is sent
TICKS = os.sysconf("SC_CLK_TCK")


def memory_in_use_kb():
    """MemTotal - MemAvailable of /proc/meminfo: what the machine's processes and kernel hold."""
    fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return int(fields["MemTotal"].split()[0]) - int(fields["MemAvailable"].split()[0])


def vswitchd_pid():
    return int(Path("/var/run/openvswitch/ovs-vswitchd.pid").read_text())


def vswitchd_rss_kb():
    status = Path(f"/proc/{vswitchd_pid()}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def vswitchd_cpu_seconds():
    fields = Path(f"/proc/{vswitchd_pid()}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS     # utime + stime


class MachineCosts(Experiment):
    """A quiet network of N hosts, measured: memory, ovs-vswitchd's memory and idle CPU."""

    shape = Parameter(str, "single", "single or linear", choices=SHAPES)
    hosts = Parameter(int, 32, "hosts on the switch", minimum=2, maximum=MOST_HOSTS, shapes="single")
    switches = Parameter(int, 8, "switches in the chain, two hosts each", minimum=2, maximum=64, shapes="linear")

    @property
    def topology(self):
        return topology_of_shape(self.shape, hosts=self.hosts, switches=self.switches, hosts_per_switch=2,
                                 depth=1, fanout=2)

    def run(self, lab):
        with lab.step("built and quiet"):
            for switch in lab.network.switches():
                lab.flows.add(switch, "action=normal")
            if not lab.planning:
                lab.measure("memory in use", memory_in_use_kb(), "kB")
                lab.measure("ovs-vswitchd RSS", vswitchd_rss_kb(), "kB")
                before = vswitchd_cpu_seconds()
                time.sleep(IDLE_SECONDS)
                lab.measure("ovs-vswitchd idle CPU", (vswitchd_cpu_seconds() - before) / IDLE_SECONDS, "cores")
            for switch in lab.network.switches():
                lab.check.flow_actions(switch, ["NORMAL"])
        # Nothing is sent: this step's snapshot is the observation of every switch alone, with
        # no revalidator pass to wait for (its metadata's snapshot_seconds).
        with lab.step("a snapshot of a quiet network"):
            for switch in lab.network.switches():
                lab.check.flow_actions(switch, ["NORMAL"])
