"""normal_priority for real: every frame of `h1 ping h3` accounted for, by the blog's
defaults and by another parameter set."""
from pathlib import Path

import pytest

from conftest import NOTHING, harness, ours_on_machine
from harness import load_run

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

NON_DEFAULT = ["hosts=5", "target=h5", "priority=40000", "count=3", "static_arp=true"]


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


def run_with(results_dir, *parameters):
    options = [option for parameter in parameters for option in ("-p", parameter)]
    process = harness("run", "normal_priority", *options, "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    return load_run(Path(process.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def default_runs(results_dir):
    return [run_with(results_dir) for _ in range(2)]


@pytest.fixture(scope="module")
def other_run(results_dir):
    return run_with(results_dir, *NON_DEFAULT)


def flow_delta(run, step, previous, **selector):
    """n_packets gained during `step` by the one flow matching the selector."""
    counts = []
    for name in (previous, step):
        rows = run.flows[run.flows["step"] == name]
        for column, value in selector.items():
            rows = rows[rows[column] == value]
        counts.append(int(rows["n_packets"].sum()))
    return counts[1] - counts[0]


def received(run, step):
    return int(run.ports[run.ports["step"] == step]["rx_packets"].sum())


def test_defaults_pass_every_check_with_the_blog_values(default_runs):
    run = default_runs[0]
    assert run.checks["passed"].all(), run.checks[~run.checks["passed"]].to_string()
    assert run.metadata["parameters"] == {"hosts": 3, "count": 2, "interval_ms": 1000, "static_arp": False,
                                          "hosts_as": "namespace", "target": "h3", "priority": 60000}
    flows = run.flows[run.flows["step"] == "add priority flow"]
    assert sorted(flows[["priority", "match", "actions"]].values.tolist()) == \
        [[32768, "", "NORMAL"], [60000, "dl_dst=00:00:00:00:00:03", "output:3"]]


def test_every_frame_of_h1_ping_h3_is_accounted_for(default_runs):
    run = default_runs[0]
    step, before = "h1 ping h3", "add priority flow"
    to_h3 = flow_delta(run, step, before, priority=60000)
    normal = flow_delta(run, step, before, actions="NORMAL")
    # h1's 2 echo requests + h1's ARP reply to h3's confirmation probe; h1's broadcast ARP
    # request + h3's ARP reply + 2 echo replies + h3's confirmation probe.
    assert (to_h3, normal) == (3, 5)
    assert to_h3 + normal == received(run, step) - received(run, before)


def test_traces_show_which_flow_forwards_each_direction(default_runs):
    traces = default_runs[0].traces.set_index("packet")
    assert traces.loc["h1 > h3 echo request", ["priority", "match", "actions"]].tolist() == \
        [60000, "dl_dst=00:00:00:00:00:03", "output:3"]
    assert traces.loc["h3 > h1 echo reply", ["priority", "match", "actions"]].tolist() == [32768, "", "NORMAL"]
    assert "bridge(\"s1\")" in traces.loc["h1 > h3 echo request", "output"]
    assert "mininet> sh ovs-appctl ofproto/trace s1 in_port=1,icmp" in default_runs[0].transcript


def test_h3_is_learned_from_its_replies(default_runs):
    fdb = default_runs[0].fdb
    h3 = fdb[fdb["host"] == "h3"]
    assert set(h3["step"]) == {"h1 ping h3"} and h3["port"].tolist() == [3]


def test_repeated_runs_count_the_same(default_runs):
    first, second = default_runs
    columns = ["step", "priority", "match", "n_packets", "n_bytes"]
    assert first.flows[columns].values.tolist() == second.flows[columns].values.tolist()


def test_five_hosts_priority_flow_on_h5_with_static_arp(other_run):
    run = other_run
    assert run.checks["passed"].all(), run.checks[~run.checks["passed"]].to_string()
    assert run.metadata["parameters"] == {"hosts": 5, "count": 3, "interval_ms": 1000, "static_arp": True,
                                          "hosts_as": "namespace", "target": "h5", "priority": 40000}
    assert run.metadata["topology"] == "single switch, 5 hosts"
    step, before = "h1 ping h5", "add priority flow"
    # Static ARP: only the 3 echo requests (to h5) and the 3 replies (NORMAL) cross the switch.
    assert flow_delta(run, step, before, priority=40000) == 3
    assert flow_delta(run, step, before, actions="NORMAL") == 3
    assert received(run, step) - received(run, before) == 6
    # No ARP at all: the NORMAL flow counted only the echo requests and replies of h1 ping h2.
    assert flow_delta(run, "h1 ping h2", "add NORMAL flow", actions="NORMAL") == 6
    silent = run.checks[run.checks["name"].str.contains("did not learn")]["name"].tolist()
    assert silent == ["s1 did not learn h3", "s1 did not learn h4", "s1 did not learn h5",
                      "s1 did not learn h5"]


def test_nothing_is_left(default_runs, other_run):
    assert ours_on_machine() == NOTHING


def test_hostile_parameter_is_refused_before_anything_is_built(tmp_path):
    process = harness("run", "normal_priority", "-p", "hosts=3; touch /tmp/pwned", "--results-dir", tmp_path)
    assert process.returncode == 2
    assert process.stderr.strip() == "error: parameter hosts must be a whole number, not '3; touch /tmp/pwned'"
    assert not any(tmp_path.iterdir()) and not Path("/tmp/pwned").exists()
    assert ours_on_machine() == NOTHING
