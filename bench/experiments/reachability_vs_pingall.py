"""Benchmark experiment: all-pairs reachability on one network, probed alternately by the
harness (one fping per source host, all at once) and by Mininet's own pingAll."""
import time

from harness import Experiment, Parameter, SingleSwitch


class ReachabilityVsPingAll(Experiment):
    """The harness's parallel all-pairs probe against Mininet's pingAll, on the same network."""

    hosts = Parameter(int, 64, "hosts on the switch", minimum=2, maximum=254)
    repeats = Parameter(int, 3, "probes of each kind, alternating, after the first (0: that one only)",
                        minimum=0, maximum=20)

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)

    def run(self, lab):
        with lab.step("add NORMAL flow"):
            lab.flows.add("s1", "action=normal")
        with lab.step("probe all pairs"):
            # The first probe resolves every ARP entry as it goes (its waves sized by
            # FLOOD_BUDGET: bench/reachability_254.py --resolve arp); the alternating ones
            # after it, timed against pingAll, send echoes only.
            started = time.monotonic()
            lab.reachability()
            lab.measure("all-pairs reachability probe", time.monotonic() - started, "s")
            for _ in range(self.repeats):
                started = time.monotonic()
                lab.reachability()
                lab.measure("harness reachability", time.monotonic() - started, "s")
                if not lab.planning:    # Mininet's own pingAll, outside the lab's vocabulary
                    started = time.monotonic()
                    loss = lab.network.net.pingAll(timeout=1)
                    lab.measure("Mininet pingAll", time.monotonic() - started, "s")
                    lab.measure("Mininet pingAll loss", loss, "%")
            lab.check.all_reachable()
