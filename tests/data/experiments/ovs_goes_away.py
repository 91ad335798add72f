"""A run during which Open vSwitch stops: the test stops it between the two files."""
import os
import time
from pathlib import Path

from harness import Experiment, SingleSwitch


class OvsGoesAway(Experiment):
    """Waits for the test to stop OVS, then adds a flow, which cannot work."""

    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        with lab.step("OVS stops"):
            if not lab.planning:     # the dry pass before the run must not signal
                Path(os.environ["HARNESS_TEST_READY"]).touch()
                go = Path(os.environ["HARNESS_TEST_GO"])
                deadline = time.monotonic() + 60
                while not go.exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
            lab.flows.add("s1", "action=normal")
