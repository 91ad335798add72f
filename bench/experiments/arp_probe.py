"""Benchmark experiment: one all-pairs probe in which the hosts resolve each other as they
probe (`resolve="arp"`, the default), the probe whose waves FLOOD_BUDGET sizes."""
import time

from harness import Experiment, Parameter, SingleSwitch


class ArpProbe(Experiment):
    """All pairs of one switch's hosts probed once, every ARP entry resolved by the probe."""

    hosts = Parameter(int, 128, "hosts on the switch", minimum=2, maximum=254)

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)

    def run(self, lab):
        with lab.step("add NORMAL flow"):
            lab.flows.add("s1", "action=normal")
        with lab.step("all pairs"):
            started = time.monotonic()
            lab.reachability()
            lab.measure("all-pairs reachability probe", time.monotonic() - started, "s")
            lab.check.all_reachable(why="NORMAL floods each ARP request and forwards the rest")
