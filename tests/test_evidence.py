"""What a failed or broken run keeps for debugging without re-running, and ovs-vswitchd's log
as a witness: a warning nobody expected fails the run, with the line quoted."""
import subprocess

import pytest

from conftest import NOTHING, TEST_EXPERIMENTS, harness, ours_on_machine, start_run_until_ready
from harness import load_run
from harness.evidence import SwitchLog

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

EVIDENCE = {"ovs-vsctl-show.txt", "s1.dump-flows.txt", "s1.dump-ports.txt", "s1.dump-ports-desc.txt",
            "s1.fdb-show.txt", "ovs-vswitchd.log"}


def test_a_failed_check_keeps_the_evidence(results_dir):
    process = harness("run", TEST_EXPERIMENTS / "failing_check.py", "--results-dir", results_dir)
    assert process.returncode == 1
    run = load_run(process.stdout.splitlines()[-1])
    evidence = run.path / run.metadata["evidence"]
    assert "evidence:" in process.stdout
    files = {path.name for path in evidence.iterdir()}
    assert EVIDENCE <= files and {"h1.ip-link.txt", "h3.ip-neigh.txt"} <= files
    assert "actions=NORMAL" in (evidence / "s1.dump-flows.txt").read_text()
    assert "s1-eth1" in (evidence / "s1.dump-ports-desc.txt").read_text()
    assert "h1-eth0@" in (evidence / "h1.ip-link.txt").read_text()
    assert "Bridge s1" in (evidence / "ovs-vsctl-show.txt").read_text()
    shown = harness("show", run.path)
    assert "evidence:" in shown.stdout
    assert ours_on_machine() == NOTHING


def test_a_passing_run_keeps_no_evidence(results_dir):
    process = harness("run", "normal_mode", "-p", "count=1", "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(process.stdout.splitlines()[-1])
    assert "evidence" not in run.metadata and not (run.path / "evidence").exists()


def run_that_sees_a_missing_device(tmp_path, results_dir, *parameters):
    """Run waits_for_go.py and, in its step, add a port whose device does not exist to its
    bridge: ovs-vswitchd logs a warning."""
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "waits_for_go.py", *parameters,
                                    "--results-dir", results_dir)
    subprocess.run(["ovs-vsctl", "add-port", "s1", "nosuchdev"], capture_output=True)
    (tmp_path / "go").touch()
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def test_an_unexpected_switch_warning_fails_the_run_with_the_line(tmp_path, results_dir):
    status, stdout, stderr = run_that_sees_a_missing_device(tmp_path, results_dir)
    assert status == 2, stdout + stderr
    said = " ".join(stdout.split())
    assert "ovs-vswitchd logged 1 warning(s) the experiment did not expect" in said
    assert "could not open network device nosuchdev" in said
    run = load_run(stdout.splitlines()[-1])
    assert run.metadata["outcome"] == "error"
    assert "nosuchdev" in (run.path / run.metadata["evidence"] / "ovs-vswitchd.log").read_text()
    assert ours_on_machine() == NOTHING


def test_a_warning_the_experiment_expects_is_allowed(tmp_path, results_dir):
    status, stdout, stderr = run_that_sees_a_missing_device(tmp_path, results_dir,
                                                            "-p", "expects_missing_device=true")
    assert status == 0, stdout + stderr
    assert ours_on_machine() == NOTHING


def test_a_busy_machines_warnings_do_not_fail_a_run_and_others_still_do(tmp_path):
    """What vm2's ovs-vswitchd logged in a CI run, with three VMs on two cores, and the RCU
    warning of the same cause: not the experiment's doing. A warning beside them still counts."""
    log = tmp_path / "ovs-vswitchd.log"
    log.touch()
    since = SwitchLog(log)
    log.write_text(
        "2026-11-27T00:17:14.106Z|00039|timeval|WARN|Unreasonably long 1165ms poll interval (142ms user, 243ms system)\n"
        "2026-11-27T00:17:14.107Z|00040|timeval|WARN|faults: 1100 minor, 0 major\n"
        "2026-11-27T00:17:14.107Z|00041|timeval|WARN|context switches: 4 voluntary, 121 involuntary\n"
        "2026-11-27T00:17:14.108Z|00042|timeval(revalidator6)|WARN|disk: 0 reads, 8 writes\n"
        "2026-11-27T00:17:15.000Z|00043|ovs_rcu(urcu4)|WARN|blocked 1000 ms waiting for main to quiesce\n"
        "2026-11-27T00:17:16.000Z|00044|bridge|WARN|could not open network device no-such-dev (No such device)\n")
    assert since.unexpected_warnings() == [
        "2026-11-27T00:17:16.000Z|00044|bridge|WARN|could not open network device no-such-dev (No such device)"]


@pytest.mark.parametrize("where", ["here", "on a server"])
def test_the_switch_log_reads_only_what_came_after_it_started(tmp_path, where):
    """On a server of a run on several, the log is read there (stat, then tail from where
    the run began): here, a server whose commands run on this machine."""
    log = tmp_path / "ovs-vswitchd.log"
    log.write_text("2026-11-25T00:00:00Z|00001|bridge|WARN|before the run\n")
    asked = []

    def there(argv):
        asked.append(argv[0])
        return argv
    since = SwitchLog(log, there=there if where == "on a server" else None)
    with open(log, "a") as more:
        more.write("2026-11-25T00:00:01Z|00002|netdev_linux|WARN|Dropped 5 log messages in last 10 seconds "
                   "(most recently, 3 seconds ago) due to excessive rate\n"
                   "2026-11-25T00:00:02Z|00003|bridge|INFO|fine\n"
                   "2026-11-25T00:00:03Z|00004|bridge|ERR|during the run\n")
    assert since.unexpected_warnings() == ["2026-11-25T00:00:03Z|00004|bridge|ERR|during the run"]
    assert since.unexpected_warnings([r"during the \w+"]) == []
    assert asked == ([] if where == "here" else ["stat"] + ["stat", "tail"] * 2)
