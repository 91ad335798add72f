"""NORMAL at its edges, for real on the userspace datapath: unknown-unicast flooding, VLANs,
MAC aging, a full MAC table and a station move, each proven with packet captures; the
vocabulary they are written in (commands, port settings, mirror captures, checks of an
experiment's own); and no capture outliving its run, even a SIGKILLed one."""
import signal

import pytest

from conftest import EDGE_EXPERIMENTS, NOTHING, TEST_EXPERIMENTS, harness, ours_on_machine, start_run_until_ready
from harness import load_run
from harness.results import run_folders

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


def run_passes(results_dir, experiment, *parameters):
    """Run `experiment` with parameters ("name=value"); assert it passed; return the run."""
    process = harness("run", experiment, *(arg for value in parameters for arg in ("-p", value)),
                      "--results-dir", results_dir, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(run_folders(results_dir)[-1])
    assert run.checks.passed.all() and len(run.checks) > 0
    assert ours_on_machine() == NOTHING
    return run


@pytest.mark.parametrize("experiment", EDGE_EXPERIMENTS)
def test_each_edge_experiment_passes_with_its_defaults(experiment, edge_runs):
    process, run = edge_runs[experiment]
    assert process.returncode == 0, process.stdout + process.stderr
    assert run.checks.passed.all() and len(run.checks) > 0
    assert ours_on_machine() == NOTHING
    for point, capture in run.metadata["captures"].items():
        assert (run.path / capture["pcap"]).exists() and capture["method"]


# Every allowed value at the ends of each range passes the experiment's own checks.
@pytest.mark.parametrize("experiment, parameters", [
    ("unknown_unicast_flood", ["hosts=3", "count=1"]),
    ("unknown_unicast_flood", ["hosts=16", "count=20"]),
    ("mac_aging", ["aging_s=30"]),
    ("mac_table_limit", ["remote_hosts=9"]),
    ("mac_table_limit", ["remote_hosts=40"]),
    ("station_move", ["count=1"]),
    ("station_move", ["count=10"]),
])
def test_the_edges_of_their_parameters_pass(experiment, parameters, results_dir):
    run_passes(results_dir, experiment, *parameters)


def test_the_trunk_carries_each_vlan_tagged_and_the_fdb_says_which_vlan(edge_runs):
    _process, run = edge_runs["vlan_normal"]
    trunk = run.frames[run.frames["at"] == "s1-eth3"]
    assert set(zip(trunk.src, trunk.vlan)) >= {("h1", 10), ("h3", 20)}
    assert set(trunk.vlan) <= {10, 20}
    first = run.fdb[(run.fdb.step_index == 2) & (run.fdb.switch == "s1")]
    assert sorted(zip(first.host, first.vlan, first.port)) == [("h1", 10, 1), ("h2", 10, 3), ("h3", 20, 2),
                                                               ("h4", 20, 3)]
    assert {"switch": "s1", "port": 3, "setting": "trunks", "value": [10, 20], "step": None} \
        in run.metadata["configuration"]


def test_the_vocabulary_commands_port_settings_mirror_and_own_checks(results_dir):
    run = run_passes(results_dir, TEST_EXPERIMENTS / "vocabulary.py")
    assert "mirror" in run.metadata["captures"]["s1-eth2"]["method"]
    assert "tcpdump -Q out on s1-eth3" in run.metadata["captures"]["s1-eth3"]["method"]
    assert "mininet> h1 ip link set dev h1-eth0 mtu 1400" in run.transcript
    assert run.metadata["configuration"][-1] == {"step": "port 3 moves to VLAN 30", "switch": "s1", "port": 3,
                                                 "setting": "tag", "value": 30}


def test_clean_stops_the_captures_of_a_killed_run(tmp_path, results_dir):
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "vocabulary.py", "-p", "ready=true",
                                    "--results-dir", results_dir)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    left = ours_on_machine()
    assert left["tcpdumps"] and left["capture ports"] == ["s1-cap1"]
    cleaned = harness("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "tcpdump process" in cleaned.stdout
    assert ours_on_machine() == NOTHING


def test_an_interrupted_run_stops_its_captures(tmp_path, results_dir):
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "vocabulary.py", "-p", "ready=true",
                                    "--results-dir", results_dir)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert ours_on_machine() == NOTHING


def test_the_report_shows_which_capture_point_saw_which_frame_per_step(results_dir):
    process = harness("run", "vlan_normal", "--report", "--results-dir", results_dir, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    page = (run_folders(results_dir)[-1] / "report.html").read_text()
    assert "Frames at each capture point" in page and "Traceback" not in page
    assert "1× arp request h1→broadcast (VLAN 10)" in page       # on the trunk, tagged
    assert "1× echo request h1→h2" in page and "no frame" in page
