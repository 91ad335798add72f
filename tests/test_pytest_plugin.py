"""The pytest plugin as a user's project meets it: a fresh folder outside this checkout,
with one test file, run with `pytest` and nothing else (the plugin comes with the installed
package): experiments as test items that pass and fail readably, the ovs_lab fixture,
--ovs-repeat catching counters that vary, JUnit XML with every check, and a clean skip
without root. Also the Python API, and the fixture used here directly."""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pexpect
import pytest

from harness import SingleSwitch, run
from harness.errors import HarnessError

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

PROMPT = "mininet> "

USER_TESTS = '''
import os
from pathlib import Path

from harness import Experiment, SingleSwitch


class PriorityFlow(Experiment):
    """The blog's step 7 on my own flows: the priority flow carries h1's echo requests to h3."""
    topology = SingleSwitch(hosts=3)
    expected = 2

    def run(self, lab):
        lab.static_arp()
        with lab.step("my flows"):
            lab.flows.add("s1", "priority=0,actions=normal")
            lab.flows.add("s1", "priority=60000,dl_dst=00:00:00:00:00:03,actions=output:3")
        with lab.step("h1 ping h3"):
            lab.ping("h1", "h3", count=2, interval=0.2)
            lab.check.ping_loss("h1", "h3", percent=0)
            lab.check.flow_packets("s1", self.expected, priority=60000, why="h1's echo requests to h3")


class WrongCount(PriorityFlow):
    """The same, expecting one request too many."""
    expected = 3


class Varies(Experiment):
    """Pings once more on every run: its counters differ from run to run."""
    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        runs = Path(os.environ["VARIES_COUNT"])
        count = 1
        if not lab.planning:
            count = int(runs.read_text()) + 1 if runs.exists() else 1
            runs.write_text(str(count))
        with lab.step("ping"):
            lab.flows.add("s1", "action=normal")
            lab.ping("h1", "h2", count=count, interval=0.2)
            lab.check.ping_loss("h1", "h2", percent=0)


def test_the_fixture_builds_acts_and_checks(ovs_lab):
    lab = ovs_lab(SingleSwitch(hosts=3))
    with lab.step("normal"):
        lab.flows.add("s1", "action=normal")
        lab.ping("h1", "h2", count=1)
        lab.check.mac_learned("s1", "h2", port=2)
    assert lab.steps[-1].passed_count == 1


def test_the_fixture_fails_with_the_check_row(ovs_lab):
    lab = ovs_lab(SingleSwitch(hosts=3))
    with lab.step("no flows"):
        lab.ping("h1", "h2", count=1)
        lab.check.ping_loss("h1", "h2", percent=0, why="there are no flows, so this fails")
'''


@pytest.fixture
def user_project():
    """A fresh project folder outside this checkout, that anyone may read (the run without
    root uses it too; pytest's own temporary folders are root's alone)."""
    with tempfile.TemporaryDirectory(prefix="ovs-harness-user-project-") as folder:
        project = Path(folder)
        project.chmod(0o755)
        (project / "test_my_flows.py").write_text(USER_TESTS)
        yield project


def user_pytest(project, *args, user=None):
    """Run pytest in `project` as its user would (as `user`, when given)."""
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", *args]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "VARIES_COUNT": str(project / "varies")})


def test_a_users_project_gets_experiments_as_tests_and_checks_in_junit(user_project):
    process = user_pytest(user_project, "-k", "not Varies", "--junitxml", "report.xml",
                          "--ovs-results", "runs", "--ovs-keep-failed")
    output = process.stdout
    assert process.returncode == 1, output + process.stderr
    assert "2 failed, 2 passed" in output
    assert "WrongCount: failed" in output
    assert "step 'h1 ping h3': s1 flow priority=60000 counted 3 packets: expected 3, observed 2 " \
           "(why: h1's echo requests to h3)" in output
    assert "step 'no flows': h1 ping h2 loses 0%: expected 0, observed 100 " \
           "(why: there are no flows, so this fails)" in output
    # --ovs-keep-failed: only the failing runs' folders are kept.
    kept = sorted(path.parent.parent.name for path in (user_project / "runs").glob("*/*/metadata.json"))
    assert kept == ["ovs_lab", "wrong_count"]
    cases = {case.get("name"): case for case in ET.parse(user_project / "report.xml").getroot().iter("testcase")}
    properties = {prop.get("name"): prop.get("value") for prop in cases["WrongCount"].iter("property")}
    assert properties["check 2 h1 ping h3: s1 flow priority=60000 counted 3 packets"] == \
        "FAILED: expected 3, observed 2"
    assert properties["check 2 h1 ping h3: h1 ping h3 loses 0%"] == "passed"


def test_repeating_catches_counters_that_vary(user_project):
    process = user_pytest(user_project, "-k", "Varies", "--ovs-repeat", "3")
    assert process.returncode == 1, process.stdout + process.stderr
    assert "counters differ between the 3 runs:" in process.stdout
    # 1, 2, then 3 echo requests and their replies, with the ARP request and reply and h2's
    # confirmation of h1 and its answer: 6, 8, then 10 frames through the NORMAL flow.
    assert "step 'ping': flows n_packets s1 0 32768  NORMAL: 6 to 10" in process.stdout


def test_without_root_everything_ovs_is_skipped_saying_why(user_project):
    process = user_pytest(user_project, user="nobody")
    assert process.returncode == 0, process.stdout + process.stderr
    assert "5 skipped" in process.stdout
    assert "needs root: experiments build real networks on Open vSwitch" in process.stdout
    assert "ovs-harness: 5 test(s) skipped" in process.stdout


def test_the_python_api_runs_an_experiment_as_the_command_does(results_dir):
    passed = run("normal_priority", count=1, results_dir=results_dir)
    assert passed.metadata["outcome"] == "passed" and passed.checks["passed"].all()
    assert passed.path.parent.parent == results_dir
    with pytest.raises(HarnessError, match="parameter count must be from 1 to 100, not 101"):
        run("normal_mode", count=101, results_dir=results_dir)


def test_the_priority_flow_carries_h1s_requests_to_h3(ovs_lab):
    """The README's example, as it stands there: the blog's step 7 with the fixture."""
    lab = ovs_lab(SingleSwitch(hosts=3))
    with lab.step("my flows"):
        lab.flows.add("s1", "priority=0,actions=normal")
        lab.flows.add("s1", "priority=60000,dl_dst=00:00:00:00:00:03,actions=output:3")
    with lab.step("h1 ping h3"):
        lab.ping("h1", "h3", count=2)
        lab.check.ping_loss("h1", "h3", percent=0)
        lab.check.flow_packets("s1", 3, priority=60000, why="2 echo requests and h1's ARP reply")


def test_interactive_on_failure_opens_the_mininet_cli_after_the_failed_step(user_project):
    child = pexpect.spawn(sys.executable, ["-m", "pytest", "-p", "no:cacheprovider", "-q", "-s", "-k", "WrongCount",
                                           "--ovs-interactive-on-failure"],
                          cwd=str(user_project), encoding="utf-8", timeout=120, dimensions=(50, 200))
    child.expect("step 2: h1 ping h3")      # only the step whose check failed stops
    child.expect(PROMPT)
    child.sendline("sh ovs-ofctl dump-flows s1")
    child.expect("priority=60000")
    child.expect(PROMPT)
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "1 failed" in child.before
