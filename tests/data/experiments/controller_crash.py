"""A --flows ryu run whose controller app dies between two flows (the test kills it)."""
import os
import time
from pathlib import Path

from harness import Experiment, SingleSwitch


class ControllerCrash(Experiment):
    """Adds a flow, waits for the test to kill the controller, then adds another."""

    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        with lab.step("controller dies"):
            lab.flows.add("s1", "action=normal")
            if not lab.planning:     # the dry pass before the run must not signal
                Path(os.environ["HARNESS_TEST_READY"]).touch()
                go = Path(os.environ["HARNESS_TEST_GO"])
                deadline = time.monotonic() + 60
                while not go.exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
            lab.flows.add("s1", "priority=100,actions=drop")
