"""The command line as a user meets it: one clear line and exit 2 for every mistake.

Every case of the README's troubleshooting table, and where it is tested:

| case                                   | test                                                        |
| -------------------------------------- | ----------------------------------------------------------- |
| not root                               | test_cli.py::test_not_root                                  |
| OVS missing / not running              | test_cli.py::test_open_vswitch_not_installed / _not_running |
| Mininet missing                        | test_cli.py::test_mininet_not_installed                     |
| unknown experiment, not an experiment  | test_cli.py::test_user_mistakes, test_experiment.py         |
| a bug in the experiment's code         | test_experiment_code.py::test_a_bug_in_the_experiment_*     |
| a check that checks nothing            | test_checks.py::test_a_check_about_what_the_network_*, ::test_a_counter_*    |
| wrong or hostile parameter             | test_parameters.py, test_normal_priority.py::test_hostile_* |
| kernel datapath impossible             | test_cli.py::test_kernel_datapath_is_refused_*              |
| results folder not ours, disk full     | test_teardown.py::test_results_dir_*, ::test_disk_full_*    |
| run not found, run ids walking out     | test_cli.py::test_user_mistakes, test_teardown.py::test_run_ids_* |
| our bridge left over                   | test_teardown.py::test_clean_removes_what_a_killed_run_left_* |
| someone else's bridge                  | test_teardown.py::test_foreign_bridge_*                     |
| run in progress (and --wait)           | test_teardown.py::test_second_run_*                         |
| flow rejected by ovs-ofctl             | test_teardown.py::test_flow_that_ovs_ofctl_rejects          |
| flow the ryu backend cannot send       | test_flows.py::test_what_the_ryu_backend_cannot_install_*   |
| controller app died / logged an error  | test_backends.py::test_controller_killed_*, ::test_openflow_error_* |
| OVS stopped mid-run                    | test_teardown.py::test_open_vswitch_stopping_mid_run_*      |
| report notebook failed                 | test_report.py::test_a_notebook_that_fails_*                |
| ovs-vswitchd warned                    | test_evidence.py::test_an_unexpected_switch_warning_*       |
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, NOTHING, ROOT, TEST_EXPERIMENTS, harness, ours_on_machine
from harness.experiment import experiment_names

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


def one_line_error(process, *fragments):
    """Assert the process failed with exit 2 and one stderr line holding every fragment."""
    assert process.returncode == 2, process.stdout + process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_list_names_each_experiment_with_its_summary():
    process = harness("list")
    assert process.returncode == 0
    assert "normal_mode  NORMAL mode in OVS: the switch learns MACs only" in process.stdout


@pytest.mark.parametrize("args, fragments", [
    (["run", "no_such_thing"], ["unknown experiment 'no_such_thing'", f"known: {', '.join(experiment_names())}"]),
    (["run", TEST_EXPERIMENTS / "no_experiment.py"], ["does not define an experiment"]),
    (["run", TEST_EXPERIMENTS / "syntax_error.py"], ["line 4: syntax error"]),
    (["run", "normal_mode", "--datapath", "dpdk"], ["invalid choice: 'dpdk'"]),
    (["run"], ["the following arguments are required: experiment"]),
    (["frobnicate"], ["invalid choice: 'frobnicate'"]),
    (["show", "20991231-000000-ffff"], ["no run '20991231-000000-ffff'"]),
    (["run", "normal_mode; rm -rf /"], ["normal_mode; rm -rf / is not an experiment file"]),
    (["run", "normal_mode;id"], ["unknown experiment 'normal_mode;id'"]),
])
def test_user_mistakes(args, fragments, results_dir):
    one_line_error(harness(*args, "--results-dir", results_dir) if args and args[0] in ("run", "show")
                   else harness(*args), *fragments)


def test_kernel_datapath_is_refused_where_the_module_is_missing_and_used_where_it_is(results_dir):
    process = harness("run", "normal_mode", "--datapath", "kernel", "--results-dir", results_dir)
    if Path("/sys/module/openvswitch").exists():
        assert process.returncode == 0, process.stderr
        assert "datapath: kernel (system), as asked" in process.stdout
    else:
        one_line_error(process, "--datapath kernel is not possible here", "use --datapath user")
        assert not results_dir.exists()


def test_not_root(results_dir):
    process = harness("run", "normal_mode", "--results-dir", results_dir,
                      preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
    one_line_error(process, "needs root", "sudo")


def test_open_vswitch_not_running(tmp_path, results_dir):
    # ovs-vsctl looks for the database socket in $OVS_RUNDIR: an empty one is a stopped OVS.
    process = harness("run", "normal_mode", "--results-dir", results_dir, env={"OVS_RUNDIR": str(tmp_path)})
    one_line_error(process, "Open vSwitch is not running", "sudo ./setup.sh", "ovs-ctl start")


def test_open_vswitch_not_installed(tmp_path, results_dir):
    (tmp_path / "mnexec").symlink_to(shutil.which("mnexec"))
    process = harness("run", "normal_mode", "--results-dir", results_dir, env={"PATH": str(tmp_path)})
    one_line_error(process, "Open vSwitch is not installed", "sudo ./setup.sh")


def test_mininet_not_installed(results_dir):
    process = harness("run", "normal_mode", "--results-dir", results_dir,
                      env={"PYTHONPATH": str(DATA / "no_mininet")})
    one_line_error(process, "Mininet is not installed for this Python", "sudo ./setup.sh")


def test_runs_and_show_and_csv_of_a_real_run(results_dir):
    run = harness("run", "normal_mode", "--results-dir", results_dir)
    assert run.returncode == 0, run.stderr
    folder = run.stdout.splitlines()[-1]
    run_id = Path(folder).name
    listing = harness("runs", "--results-dir", results_dir)
    assert run_id in listing.stdout and "passed" in listing.stdout
    for spec in (run_id, "latest", folder):
        shown = harness("show", spec, "--results-dir", results_dir)
        assert shown.returncode == 0 and shown.stdout.splitlines()[-1] == folder
        assert "00:00:00:00:00:01" in shown.stdout and "s1 did not learn h3" in shown.stdout
    csv = harness("show", run_id, "--csv", "fdb", "--results-dir", results_dir).stdout.splitlines()
    assert csv[0] == "run_id,step_index,step,switch,port,port_name,vlan,mac,host,age"
    assert sum(",h1," in line or ",h2," in line for line in csv) == 2
    assert ours_on_machine() == NOTHING


def test_describe_shows_parameters_steps_and_checks_for_these_values():
    process = harness("describe", "normal_priority", "-p", "hosts=5", "-p", "target=h5", env={"COLUMNS": "250"})
    assert process.returncode == 0, process.stderr
    out = " ".join(process.stdout.split())
    for text in ("topology: single switch, 5 hosts", "priority", "60000", "from 32769 to 65535",
                 "step 6: h1 ping h5", "flow ovs-ofctl add-flow s1 priority=60000,dl_dst=00:00:00:00:00:05,actions=output:5",
                 "check s1 flow priority=60000 dl_dst=00:00:00:00:00:05 counted 3 packets",
                 "trace ovs-appctl ofproto/trace s1: h1 > h5 echo request"):
        assert text in out, text


def test_describe_refuses_a_wrong_parameter():
    one_line_error(harness("describe", "normal_mode", "-p", "hosts=two"),
                   "parameter hosts must be a whole number, not 'two'")


def test_doctor_reports_this_machine():
    process = harness("doctor", env={"COLUMNS": "200"})
    assert process.returncode == 0, process.stdout
    assert "│ ok │ userspace (netdev) datapath │ works" in " ".join(process.stdout.split())


def test_the_unit_tests_run_without_root_and_without_open_vswitch():
    """`pytest -m "not network"`, as the README says, by a user who is not root."""
    process = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "not network", "-p", "no:cacheprovider"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/tmp"},
                             preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr
    assert " passed" in process.stdout and "deselected" in process.stdout


def test_every_tool_runs_in_the_c_locale(monkeypatch):
    from harness.tools import CommandRunner
    monkeypatch.setenv("LC_ALL", "fr_FR.UTF-8")
    assert CommandRunner().run(["printenv", "LC_ALL"]) == "C\n"

