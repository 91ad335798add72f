"""normal_mode for real: Mininet, Open vSwitch, the CLI as a user runs it."""
from pathlib import Path

import pytest

from conftest import NOTHING, harness, ours_on_machine
from harness import load_run
from harness.traffic import ARP_RETRIES

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

EXPECTED_CHECKS = [
    ("build", "s1 MAC table holds no host"),
    ("build", "s1 flow table empty"),
    ("ping without flows", "h1 ping h2 loses 100%"),
    ("add NORMAL flow", "s1 flows have actions NORMAL"),
    ("add NORMAL flow", "s1 MAC table holds no host"),
    ("h1 ping h2", "h1 ping h2 loses 0%"),
    ("h1 ping h2", "s1 learned h1 on port 1"),
    ("h1 ping h2", "s1 learned h2 on port 2"),
    ("h1 ping h2", "s1 did not learn h3"),
    ("h1 ping h2", "s1 flow actions=NORMAL counted 8 packets"),
    ("h1 ping h2", "s1 flows counted every frame received"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of normal_mode, as `python -m harness run normal_mode` prints and stores them."""
    results_dir = tmp_path_factory.mktemp("results")
    done = [harness("run", "normal_mode", "--results-dir", results_dir) for _ in range(2)]
    return [(process, load_run(Path(process.stdout.splitlines()[-1]))) for process in done]


@pytest.fixture(scope="module")
def run(runs):
    return runs[0][1]


def counters(run):
    """Per-step packet counts of a run: what must not change from one run to the next."""
    flows = run.flows[["step", "match", "actions", "n_packets", "n_bytes"]].values.tolist()
    ports = run.ports[["step", "port", "rx_packets", "tx_packets", "rx_bytes", "tx_bytes"]].values.tolist()
    return flows, ports


def test_run_passes_prints_its_checks_and_ends_with_the_run_folder(runs):
    process, run = runs[0]
    assert process.returncode == 0, process.stdout + process.stderr
    lines = process.stdout.splitlines()
    assert any(line.startswith("datapath: ") for line in lines)
    # Piped: the phases as plain lines, no progress bar, headings 100 columns wide at most.
    assert "building the network: 3 hosts, 1 switch" in lines
    assert any(line.startswith("network up in ") for line in lines)
    assert all(len(line) <= 200 for line in lines if "─" in line) and "\x1b[" not in process.stdout
    assert "passed" in lines[-2]
    assert Path(lines[-1]) == run.path and (run.path / "metadata.json").exists()
    assert "Traceback" not in process.stderr


def test_every_blog_observation_is_a_passed_check(run):
    assert run.checks[["step", "name"]].apply(tuple, axis=1).tolist() == EXPECTED_CHECKS
    assert run.checks["passed"].all()
    h3 = run.checks[run.checks["name"] == "s1 did not learn h3"].iloc[0]
    assert (h3["expected"], h3["observed"]) == ("none", "none")


def test_flow_table_empty_then_one_normal_flow(run):
    by_step = run.flows.groupby("step")["actions"].apply(list).to_dict()
    assert "build" not in by_step and "ping without flows" not in by_step
    assert by_step["add NORMAL flow"] == ["NORMAL"] and by_step["h1 ping h2"] == ["NORMAL"]
    added = run.flows[run.flows["step"] == "add NORMAL flow"].iloc[0]
    assert (added["priority"], added["match"], added["n_packets"]) == (32768, "", 0)


def test_normal_flow_counted_every_frame_that_entered_the_switch(run):
    # All frames the ports received during the ping step went through the one NORMAL flow.
    rx = run.ports.pivot(index="step", columns="port", values="rx_packets")
    received = int((rx.loc["h1 ping h2"] - rx.loc["add NORMAL flow"]).sum())
    normal = run.flows[run.flows["step"] == "h1 ping h2"].iloc[0]
    assert normal["n_packets"] == received
    # As in the blog's dump-flows after step 5: ARP request and reply, two echo requests,
    # two replies, and h2 confirming h1's MAC with a unicast ARP request and its reply.
    assert (normal["n_packets"], normal["n_bytes"]) == (8, 560)


def test_without_flows_only_h1_port_saw_frames_and_all_were_dropped(run):
    step = run.ports[run.ports["step"] == "ping without flows"].set_index("port")
    # h1 never learns h2's MAC, so its echo requests never leave it: only its ARP
    # requests for h2, every one it sends before giving up, reach the switch.
    assert step.loc[1, "rx_packets"] == ARP_RETRIES["mcast_solicit"]
    assert step.drop(index=1)["rx_packets"].sum() == 0
    assert step["tx_packets"].sum() == 0


def test_h1s_failing_arp_entry_is_deleted_once_its_last_request_is_counted(run):
    """h1 gives up on h2 a second after its last request: the step ends without that second
    (traffic.settle), and the next step's MAC table and flow counters show no late frame
    (test_flow_table_empty_then_one_normal_flow, the checks of "add NORMAL flow")."""
    without_flows = run.transcript.split("### step: ping without flows")[1].split("### step:")[0]
    assert without_flows.index("sh ovs-appctl revalidator/wait") < \
        without_flows.index("h1 ip neigh flush nud incomplete nud probe")


def test_mac_table_learns_h1_and_h2_on_their_ports_and_never_h3(run):
    hosts = run.fdb[run.fdb["host"] != ""]
    assert set(hosts["step"]) == {"h1 ping h2"}
    assert sorted(hosts[["host", "port", "port_name"]].values.tolist()) == \
        [["h1", 1, "s1-eth1"], ["h2", 2, "s1-eth2"]]
    assert (hosts["vlan"] == 0).all()


def test_pings_record_loss_and_rtt(run):
    pings = run.pings.set_index("step")
    assert pings.loc["ping without flows", ["sent", "received", "loss"]].tolist() == [2, 0, 100.0]
    replied = pings.loc["h1 ping h2"]
    assert (replied["received"], replied["loss"]) == (2, 0.0)
    assert 0 < replied["rtt_min"] <= replied["rtt_avg"] <= replied["rtt_max"]


def test_metadata_says_what_ran_where(run):
    meta = run.metadata
    assert (meta["experiment"], meta["outcome"], meta["error"]) == ("normal_mode", "passed", None)
    assert meta["datapath"]["type"] == ("kernel" if Path("/sys/module/openvswitch").exists() else "user")
    assert meta["datapath"]["reason"]
    assert all(meta["versions"][key] for key in ("ovs", "mininet", "kernel", "python"))
    assert meta["started"] <= meta["ended"]
    assert [step["name"] for step in meta["steps"]] == \
        ["build", "ping without flows", "add NORMAL flow", "h1 ping h2"]
    # nothing left after Mininet's teardown but the kernel settings the run raised, put back
    assert [line for line in meta["removed_after_mininet"] if " back to " not in line] == []
    assert meta["parameters"] == {"shape": "single", "hosts": 3, "switches": 3, "depth": 2, "fanout": 2,
                                  "count": 2, "interval_ms": 1000, "static_arp": False, "hosts_as": "namespace"}


def test_metadata_reports_what_each_steps_snapshot_cost(run):
    for step in run.metadata["steps"]:
        assert step["snapshots"] >= 1, step
        assert 0 < step["snapshot_seconds"] < 10, step


def test_transcript_reads_like_the_blog_session(run):
    transcript = run.transcript
    for line in ("mininet> sh ovs-ofctl dump-flows s1", "mininet> sh ovs-appctl fdb/show s1",
                 "mininet> sh ovs-ofctl add-flow s1 action=normal",
                 "mininet> h1 ping -c 2 -W 1 10.0.0.2", "2 packets transmitted, 2 received"):
        assert line in transcript
    assert transcript.index("### step: add NORMAL flow") < transcript.index("### step: h1 ping h2")


def test_two_runs_count_the_same_packets_at_every_step(runs):
    first, second = (run for _process, run in runs)
    assert first.metadata["run_id"] != second.metadata["run_id"]
    assert counters(first) == counters(second)


def test_nothing_is_left_on_the_machine(runs):
    assert ours_on_machine() == NOTHING


@pytest.mark.parametrize("parameters, forwarded", [
    # h1 on s1, h2 on s2, h3 on s3: s3 sees only h1's broadcast ARP request.
    (["shape=linear"], {"s1": 8, "s2": 8, "s3": 1}),
    # h1 and h2 under s2; s1 (the root) and s3 (h3, h4) see only the broadcast.
    (["shape=tree"], {"s1": 1, "s2": 8, "s3": 1}),
    # No ARP: h1's first echo request is flooded (no switch knew h2 yet), then 2 + 2.
    (["shape=linear", "static_arp=true"], {"s1": 4, "s2": 4, "s3": 1}),
])
def test_the_lesson_holds_on_a_chain_and_a_tree(results_dir, parameters, forwarded):
    process = harness("run", "normal_mode", *(arg for p in parameters for arg in ("-p", p)),
                      "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(Path(process.stdout.splitlines()[-1]))
    after = run.flows[run.flows["step"] == "h1 ping h2"]
    assert dict(zip(after["switch"], after["n_packets"])) == forwarded
    fdb = run.fdb[(run.fdb["step"] == "h1 ping h2") & (run.fdb["host"] != "")]
    learned = fdb.groupby("switch")["host"].apply(sorted).to_dict()
    assert learned == {switch: ["h1", "h2"] if count > 1 else ["h1"] for switch, count in forwarded.items()}
    assert ours_on_machine() == NOTHING
