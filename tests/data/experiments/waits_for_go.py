"""A run that waits in its step until the test has done something to the machine (it
creates $HARNESS_TEST_READY, then waits for $HARNESS_TEST_GO): kill the controller app, stop
Open vSwitch, add a port to the switch. Then it adds a flow, or checks the flow table."""
import os
import time
from pathlib import Path

from harness import Experiment, Parameter, SingleSwitch


class WaitsForGo(Experiment):
    """Waits for the test, then adds a flow or checks the flow table."""

    topology = SingleSwitch(hosts=2)
    flow_first = Parameter(bool, False, "add the NORMAL flow before waiting")
    then = Parameter(str, "check", "after waiting: check the flow table, or add a flow",
                     choices=("check", "add_flow"))
    expects_missing_device = Parameter(bool, False, "the test adds a port whose device is missing")

    @property
    def expected_switch_warnings(self):
        return [r"could not open network device nosuchdev"] if self.expects_missing_device else []

    def run(self, lab):
        with lab.step("waits for the test"):
            if self.flow_first:
                lab.flows.add("s1", "action=normal")
            if not lab.planning:     # the dry pass before the run must not signal
                Path(os.environ["HARNESS_TEST_READY"]).touch()
                go = Path(os.environ["HARNESS_TEST_GO"])
                deadline = time.monotonic() + 60
                while not go.exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
            if self.then == "add_flow":
                lab.flows.add("s1", "priority=100,actions=drop" if self.flow_first else "action=normal")
            else:
                lab.check.flow_table_empty("s1")
