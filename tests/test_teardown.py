"""The network is torn down whatever ends a run, and `clean` removes what a killed run left,
and never anything that is not ours."""
import signal
import subprocess
import sys
import time

import pytest

from pathlib import Path

from conftest import NOTHING, ROOT, TEST_EXPERIMENTS, harness, ours_on_machine, start_run_until_ready
from harness import load_run
from harness.results import find_run

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


def start_blocking_run(tmp_path, results_dir, experiment="blocking.py", *options, env=None):
    """Start a test experiment in its step (see conftest.start_run_until_ready)."""
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / experiment, "--results-dir", results_dir, *options,
                                    env=env)
    time.sleep(0.5)     # let the ping itself start inside h1
    return process


@pytest.fixture
def foreign_bridge():
    """A bridge and a veth that are not ovs-harness's, which nothing may touch."""
    subprocess.run(["ovs-vsctl", "add-br", "foreign0", "--", "set", "Bridge", "foreign0",
                    "datapath_type=netdev"], check=True)
    subprocess.run(["ip", "link", "add", "foreignA", "type", "veth", "peer", "name", "foreignB"], check=True)
    yield
    subprocess.run(["ovs-vsctl", "--if-exists", "del-br", "foreign0"], check=True)
    subprocess.run(["ip", "link", "del", "foreign0"], capture_output=True)
    subprocess.run(["ip", "link", "del", "foreignA"], check=True)


def foreign_survived():
    bridges = subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return "foreign0" in bridges and "foreignA@foreignB" in links


def test_failed_check_exits_1_shows_it_and_tears_down(results_dir, foreign_bridge):
    process = harness("run", TEST_EXPERIMENTS / "failing_check.py", "--results-dir", results_dir)
    assert process.returncode == 1, process.stderr
    assert "FAIL" in process.stdout and "s1 learned h3 on port 3" in process.stdout
    run = load_run(process.stdout.splitlines()[-1])
    failed = run.checks[~run.checks["passed"]]
    assert failed[["name", "expected", "observed"]].values.tolist() == [["s1 learned h3 on port 3", "3", "none"]]
    assert run.metadata["outcome"] == "failed"
    assert ours_on_machine() == NOTHING and foreign_survived()


def test_exception_in_the_experiment_exits_2_keeps_what_was_observed_and_tears_down(results_dir):
    process = harness("run", TEST_EXPERIMENTS / "raising.py", "--results-dir", results_dir)
    assert process.returncode == 2
    assert "RuntimeError: the experiment's own bug" in process.stdout
    run = load_run(process.stdout.splitlines()[-1])
    assert run.metadata["outcome"] == "error"
    assert "Traceback" in run.metadata["traceback"]
    assert run.checks["step"].tolist() == ["first"] and run.checks["passed"].all()
    assert set(run.ports["step"]) == {"first", "second"}
    assert ours_on_machine() == NOTHING


def test_flow_that_ovs_ofctl_rejects(results_dir):
    process = harness("run", TEST_EXPERIMENTS / "bad_flow.py", "--results-dir", results_dir)
    assert process.returncode == 2
    assert "`ovs-ofctl add-flow s1 actions=teleport` failed" in process.stdout
    assert ours_on_machine() == NOTHING


def test_foreign_bridge_with_our_switch_name_is_refused_and_kept(results_dir):
    subprocess.run(["ovs-vsctl", "add-br", "s1", "--", "set", "Bridge", "s1", "datapath_type=netdev"], check=True)
    try:
        process = harness("run", "normal_mode", "--results-dir", results_dir)
        assert process.returncode == 2
        assert "bridge s1 already exists and is not ovs-harness's" in process.stdout
        assert "s1" in subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True).stdout.split()
    finally:
        subprocess.run(["ovs-vsctl", "del-br", "s1"], check=True)
        subprocess.run(["ip", "link", "del", "s1"], capture_output=True)
    assert ours_on_machine() == NOTHING


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_is_marked_and_torn_down(tmp_path, results_dir, foreign_bridge, sig):
    process = start_blocking_run(tmp_path, results_dir)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    run = load_run(find_run("latest", results_dir))
    assert run.metadata["outcome"] == "interrupted"
    assert run.metadata["error"] == f"interrupted by {'SIGTERM' if sig == signal.SIGTERM else 'SIGINT'}"
    assert "mininet> h1 ping -c 600" in run.transcript
    assert ours_on_machine() == NOTHING and foreign_survived()


def test_the_hosts_shells_run_in_the_c_locale(tmp_path, results_dir):
    """Every command a host runs, Mininet's own among them, prints as the parsers expect."""
    process = start_blocking_run(tmp_path, results_dir, "blocking.py", env={"LC_ALL": "de_DE.UTF-8"})
    try:
        shells = subprocess.run(["pgrep", "-f", "mininet:h1"], capture_output=True, text=True).stdout.split()
        environment = Path(f"/proc/{shells[0]}/environ").read_bytes().split(b"\0")
        assert b"LC_ALL=C" in environment and b"LC_ALL=de_DE.UTF-8" not in environment
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert ours_on_machine() == NOTHING


def interrupted_after(seconds, results_dir):
    """Run normal_mode and send SIGINT to it and its process group after `seconds`, as
    Ctrl-C on a terminal (and `timeout`) do; return the finished process."""
    return subprocess.run(["timeout", "--preserve-status", "-s", "INT", f"{seconds:.2f}", sys.executable,
                           "-m", "harness", "run", "normal_mode", "-p", "count=1", "--results-dir", results_dir],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_an_interrupt_at_any_moment_leaves_nothing_and_an_outcome_that_agrees(results_dir):
    """Ctrl-C swept over a whole run in small steps, and finer over its end (the last step's
    checks, the teardown, the last writes): whenever it lands, nothing is left, and a run
    that has a folder prints it and records the outcome its exit status says."""
    started = time.monotonic()
    whole = interrupted_after(120, results_dir)
    length = time.monotonic() - started
    assert whole.returncode == 0, whole.stdout + whole.stderr
    moments = [0.3 + 0.9 * step for step in range(int(length / 0.9))]
    moments += [length - 1.0 + 0.1 * step for step in range(11)]
    statuses = {"passed": 0, "failed": 1, "error": 2, "interrupted": 130}
    for moment in moments:
        process = interrupted_after(moment, results_dir)
        said = f"at {moment:.2f} s of {length:.2f}: {process.stdout[-600:]} {process.stderr}"
        assert ours_on_machine() == NOTHING, said
        assert "Traceback" not in process.stdout + process.stderr, said
        assert process.returncode in (0, 130), said
        last = process.stdout.strip().splitlines()[-1] if process.stdout.strip() else ""
        if (Path(last) / "metadata.json").exists():
            assert statuses[load_run(last).metadata["outcome"]] == process.returncode, said
        else:       # stopped before the run had a folder: nothing was recorded anywhere
            assert process.returncode == 130 and process.stderr.strip().endswith("interrupted"), said
    for folder in results_dir.glob("normal_mode/*"):
        assert load_run(folder).metadata["outcome"] in ("passed", "interrupted"), folder


def test_second_run_is_refused_while_one_is_in_progress(tmp_path, results_dir):
    first = start_blocking_run(tmp_path, results_dir)
    try:
        second = harness("run", "normal_mode", "--results-dir", results_dir)
        assert second.returncode == 2
        assert f"is in progress (pid {first.pid})" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert ours_on_machine() == NOTHING


def test_clean_removes_what_a_killed_run_left_and_only_that(tmp_path, results_dir, foreign_bridge):
    process = start_blocking_run(tmp_path, results_dir)
    process.kill()
    process.communicate(timeout=30)
    left = ours_on_machine()
    assert left["bridges"] == ["s1"] and left["state files"]
    refused = harness("run", "normal_mode", "--results-dir", results_dir)
    assert refused.returncode == 2
    assert "bridge s1 is left over from run" in " ".join(refused.stdout.split())
    cleaned = harness("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed bridge s1" in cleaned.stdout
    assert "ping -c 600" in cleaned.stdout     # the ping that held h1's namespace open
    assert ours_on_machine() == NOTHING and foreign_survived()
    again = harness("clean")
    assert "removed 0 thing(s)" in again.stdout


def test_clean_never_removes_an_interface_someone_made_later_with_our_name(tmp_path, results_dir):
    """After a SIGKILL, a plain `mn` (here: ip link) makes its own s2-eth1 and s2: `clean`
    removes the dead run's bridge and marked interfaces, and not those."""
    process = start_blocking_run(tmp_path, results_dir, "blocking.py", "-p", "hosts=3")
    alias = Path("/sys/class/net/s1-eth1/ifalias").read_text().strip()
    assert alias.startswith("ovs-harness:")
    process.kill()
    process.communicate(timeout=30)
    # Our s1-eth3 goes (with h3's namespace, when its shell dies after the run; or now).
    subprocess.run(["ip", "link", "del", "s1-eth3"], capture_output=True)
    subprocess.run(["ip", "link", "add", "s1-eth3", "type", "veth", "peer", "name", "notours3"], check=True)
    try:
        cleaned = harness("clean")
        assert cleaned.returncode == 0, cleaned.stderr
        assert "removed bridge s1" in cleaned.stdout
        assert Path("/sys/class/net/s1-eth3").exists() and Path("/sys/class/net/notours3").exists()
    finally:
        subprocess.run(["ip", "link", "del", "s1-eth3"], check=False)
    assert ours_on_machine() == NOTHING


def test_doctor_never_deletes_a_probe_bridge_that_is_not_its_own():
    subprocess.run(["ovs-vsctl", "add-br", "ovsh-probe", "--", "set", "Bridge", "ovsh-probe",
                    "datapath_type=netdev"], check=True)
    try:
        doctor = harness("doctor", env={"COLUMNS": "200"})
        assert "ovsh-probe" in subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True).stdout
        assert "userspace (netdev) datapath" in doctor.stdout and "does not work" in doctor.stdout
    finally:
        subprocess.run(["ovs-vsctl", "--if-exists", "del-br", "ovsh-probe"], check=True)


def test_clean_puts_back_the_arp_table_limit_a_killed_big_run_raised(tmp_path, results_dir):
    limit = Path("/proc/sys/net/ipv4/neigh/default/gc_thresh3")
    before = limit.read_text()
    process = start_blocking_run(tmp_path, results_dir, "blocking.py", "-p", "hosts=140")
    assert int(limit.read_text()) == 140 * 140
    process.kill()
    process.communicate(timeout=30)
    cleaned = harness("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"net.ipv4.neigh.default.gc_thresh3 back to {int(before)}" in cleaned.stdout
    assert limit.read_text() == before
    assert ours_on_machine() == NOTHING


def test_second_run_with_wait_starts_when_the_first_ends(tmp_path, results_dir):
    first = start_blocking_run(tmp_path, results_dir)
    second = subprocess.Popen([sys.executable, "-m", "harness", "run", "normal_mode", "--wait",
                               "--results-dir", results_dir], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while "waiting for run" not in (line := second.stdout.readline()):
            assert line and time.monotonic() < deadline, "the second run did not say it waits"
        assert second.poll() is None
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stdout + stderr
    assert load_run(stdout.splitlines()[-1]).metadata["outcome"] == "passed"
    assert ours_on_machine() == NOTHING


@pytest.fixture
def full_disk(tmp_path):
    """A results folder on a 40 KiB file system: it fills up during the run."""
    folder = tmp_path / "full"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40k", "tmpfs", folder], check=True)
    yield folder
    subprocess.run(["umount", folder], check=True)


def test_disk_full_while_writing_results(full_disk):
    process = harness("run", "normal_mode", "--results-dir", full_disk)
    assert process.returncode == 2
    assert process.stderr.strip().startswith(f"error: cannot write results in {full_disk}/normal_mode/")
    assert process.stderr.strip().endswith("No space left on device")
    assert "Traceback" not in process.stdout + process.stderr
    assert ours_on_machine() == NOTHING


@pytest.mark.parametrize("results, message", [
    ("/etc", "--results-dir /etc holds other files and no ovs-harness runs"),
    ("/etc/passwd", "--results-dir /etc/passwd is a file, not a folder"),
])
def test_results_dir_that_is_not_ours_is_refused(results, message):
    process = harness("run", "normal_mode", "--results-dir", results)
    assert process.returncode == 2 and message in process.stderr
    assert not Path(results, "normal_mode").exists()
    assert ours_on_machine() == NOTHING


@pytest.mark.parametrize("spec", ["../../../etc", "20261125-000000-zzzz/../../x", "/etc"])
def test_run_ids_that_walk_out_of_the_results_are_refused(spec, results_dir):
    process = harness("show", spec, "--results-dir", results_dir)
    assert process.returncode == 2 and f"no run {spec!r}" in process.stderr


def ovs_ctl(action):
    subprocess.run(["/usr/share/openvswitch/scripts/ovs-ctl", action], capture_output=True, check=True)


def test_open_vswitch_stopping_mid_run_then_clean_after_it_is_back(tmp_path, results_dir, foreign_bridge):
    process = start_blocking_run(tmp_path, results_dir, "waits_for_go.py", "-p", "then=add_flow")
    try:
        ovs_ctl("stop")
        (tmp_path / "go").touch()
        stdout, stderr = process.communicate(timeout=120)
    finally:
        ovs_ctl("start")
    assert process.returncode == 2, stdout + stderr
    said = " ".join(stdout.split())      # rich wraps long lines
    assert "step 1 'waits for the test': did not finish" in said
    assert "`ovs-ofctl add-flow s1 action=normal` failed" in said
    assert "teardown: Open vSwitch does not answer" in said and "python -m harness clean" in said
    run = load_run(find_run("latest", results_dir))
    # The first error stays the run's error; what went wrong after it only follows it.
    assert run.metadata["outcome"] == "error"
    assert "`ovs-ofctl add-flow s1 action=normal` failed" in run.metadata["error"]
    assert any("harness clean" in later for later in run.metadata["later_errors"])
    assert [step["name"] for step in run.metadata["steps"]] == ["waits for the test"]
    assert "ovs-ofctl: s1 is not a bridge or a socket" in run.transcript
    left = ours_on_machine()
    assert left["bridges"] == ["s1"] and left["veths"] == [] and left["host shells"] == []
    cleaned = harness("clean")
    assert cleaned.returncode == 0 and "removed bridge s1" in cleaned.stdout
    assert ours_on_machine() == NOTHING and foreign_survived()
