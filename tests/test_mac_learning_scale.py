"""mac_learning_scale: NORMAL learns every host from one broadcast each, on the three
topology shapes; the measurements and the flooding table say what it cost."""
from pathlib import Path

import pytest

from conftest import NOTHING, harness, ours_on_machine
from harness import load_run
from harness.analysis import flooding

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

LEARN = "every host broadcasts once"


def run_scale(results_dir, *parameters):
    process = harness("run", "mac_learning_scale", *(arg for p in parameters for arg in ("-p", p)),
                      "--results-dir", results_dir, timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    return load_run(Path(process.stdout.splitlines()[-1]))


@pytest.mark.parametrize("parameters, switches, hosts", [
    (["shape=single", "hosts=16"], 1, 16),
    (["shape=linear", "switches=4", "hosts_per_switch=3"], 4, 12),
    (["shape=tree", "depth=2", "fanout=3"], 4, 9),
])
def test_every_switch_learns_every_host_from_one_broadcast_each(results_dir, parameters, switches, hosts):
    run = run_scale(results_dir, *parameters)
    assert run.checks["passed"].all(), run.checks[~run.checks["passed"]].to_string()
    learned = run.fdb[(run.fdb["step"] == LEARN) & (run.fdb["host"] != "")]
    assert learned.groupby("switch")["host"].nunique().tolist() == [hosts] * switches
    reachable = run.reachability[run.reachability["step"] == "all pairs"]
    assert len(reachable) == hosts * (hosts - 1) and reachable["reachable"].all()
    measured = run.measurements.set_index("name")["value"]
    assert measured.notna().all() and (measured > 0).all()
    assert measured["build (Mininet, OVS, every port verified)"] == pytest.approx(run.metadata["build_seconds"], abs=1e-3)
    assert ours_on_machine() == NOTHING


def test_flooding_table_counts_the_copies_of_each_broadcast(results_dir):
    run = run_scale(results_dir, "shape=single", "hosts=16")
    [step] = flooding(run)[lambda table: table["step"] == LEARN].to_dict("records")
    # 16 broadcasts in; each goes out to the 15 other hosts (the bridge's own port is down):
    # 14 copies more than came in, per broadcast.
    assert (step["frames in"], step["frames out"], step["out - in"]) == (16, 16 * 15, 16 * 14)


def test_a_topology_over_254_hosts_is_refused_before_anything_is_built(results_dir):
    process = harness("run", "mac_learning_scale", "-p", "shape=tree", "-p", "depth=4", "-p", "fanout=5",
                      "--results-dir", results_dir)
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        "error: tree, depth 4, fanout 5 has 625 hosts; at most 254 fit (fewer switches, hosts per "
        "switch, depth or fanout)"]
    assert not results_dir.exists()


def test_runs_of_several_sizes_compare_measurement_by_measurement(results_dir):
    runs = [run_scale(results_dir, "shape=single", f"hosts={hosts}") for hosts in (8, 24)]
    process = harness("report", "--compare", *(run.path for run in runs), "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    [html] = (results_dir / "comparisons").glob("*/compare.html")
    page = " ".join(html.read_text().split())
    section = page[page.index("Measurements, side by side"):page.index("Flow counters, side by side")]
    for hosts in (8, 24):       # each run is named by what sets it apart
        assert f"hosts={hosts}" in section
    for name in ("time until every switch learned every host", "all-pairs reachability probe"):
        assert name in section


def test_describe_plans_every_switch_of_the_shape_asked_for():
    process = harness("describe", "mac_learning_scale", "-p", "shape=linear", "-p", "switches=3",
                      env={"COLUMNS": "200"})
    assert process.returncode == 0, process.stderr
    for switch in ("s1", "s2", "s3"):
        assert f"ovs-ofctl add-flow {switch} action=normal" in process.stdout
        assert f"check  {switch} learned all 6 hosts" in process.stdout
    assert "s1, s2, s3 sent 30 frames to hosts" in process.stdout
