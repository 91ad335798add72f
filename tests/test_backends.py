"""The ryu flow backend on real os-ken and OVS: parity with ovs-ofctl, the learning switch
against NORMAL, and a controller that dies mid-run."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import NOTHING, ROOT, TEST_EXPERIMENTS, harness, ours_on_machine, start_run_until_ready
from harness import SingleSwitch, load_run
from harness.api import LabSession

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


def run(results_dir, *args):
    process = harness("run", *args, "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    return load_run(Path(process.stdout.splitlines()[-1]))


def flow_counts(run):
    return run.flows[["step", "priority", "match", "actions", "n_packets", "n_bytes"]].values.tolist()


@pytest.mark.parametrize("experiment", ["normal_mode", "normal_priority"])
def test_both_backends_pass_the_same_checks_with_the_same_counts(results_dir, experiment):
    ofctl = run(results_dir, experiment, "--flows", "ofctl")
    ryu = run(results_dir, experiment, "--flows", "ryu")
    assert ofctl.checks["passed"].all() and ryu.checks["passed"].all()
    assert ofctl.checks["name"].tolist() == ryu.checks["name"].tolist()
    assert flow_counts(ofctl) == flow_counts(ryu)
    assert (ofctl.metadata["flows"], ryu.metadata["flows"]) == ("ofctl", "ryu")
    assert ryu.metadata["controller"] == {"app": "controllers.flow_installer", "framework": "os_ken",
                                          "version": ryu.metadata["versions"]["os_ken"]}
    assert "controller> add-flow s1 action=normal" in ryu.transcript
    assert "flow_installer" in (ryu.path / "controller.log").read_text()
    assert ours_on_machine() == NOTHING
    assert subprocess.run(["pgrep", "-f", "controllers.launch"], capture_output=True).stdout == b""


def dumped_flows(run):
    """The run's last dump-flows of s1 as OVS printed it, less what changes with time."""
    dump = run.transcript.rpartition("mininet> sh ovs-ofctl dump-flows s1\n")[2].split("\n\n")[0]
    return [re.sub(r" (duration|idle_age|hard_age)=[0-9.]+s?,", "", line).strip()
            for line in dump.splitlines() if "cookie=" in line]


def test_both_backends_install_a_varied_flow_table_identically(results_dir):
    """ARP and IP addresses, TCP and UDP ports, a VLAN, three tables joined by goto_table and
    resubmit, a cookie and timeouts: dump-flows shows the same table either way."""
    ofctl = run(results_dir, TEST_EXPERIMENTS / "flow_table.py", "--flows", "ofctl")
    ryu = run(results_dir, TEST_EXPERIMENTS / "flow_table.py", "--flows", "ryu")
    assert ofctl.checks["passed"].all() and ryu.checks["passed"].all()
    assert len(dumped_flows(ofctl)) == 10
    assert dumped_flows(ryu) == dumped_flows(ofctl)
    assert "priority=100,arp,arp_tpa=10.0.0.3 actions=output:3" in " ".join(dumped_flows(ryu))
    assert "cookie=0x2a, table=0, n_packets=0, n_bytes=0, idle_timeout=600, hard_timeout=900, priority=5 " \
           "actions=NORMAL" in dumped_flows(ryu)


@pytest.fixture(scope="module")
def learning(results_dir):
    return run(results_dir, "learning_switch"), run(results_dir, "normal_mode")


def test_learning_switch_passes_its_checks(learning):
    app, _normal = learning
    assert app.checks["passed"].all(), app.checks[~app.checks["passed"]].to_string()
    stats = app.controller_stats.pivot(index="step", columns="counter", values="value")
    assert stats.loc["h1 ping h2"].to_dict() == {"packet_ins": 3, "flows_installed": 3}
    assert stats.loc["h1 ping h2 again"].to_dict() == {"packet_ins": 3, "flows_installed": 3}


def test_the_app_learns_what_normal_learns_on_the_same_traffic(learning):
    app, normal = learning
    learned_by_app = app.controller_fdb[app.controller_fdb["step"] == "h1 ping h2"]
    learned_by_ovs = normal.fdb[(normal.fdb["step"] == "h1 ping h2") & (normal.fdb["host"] != "")]
    assert sorted(learned_by_app[["host", "mac", "port", "port_name"]].values.tolist()) == \
        sorted(learned_by_ovs[["host", "mac", "port", "port_name"]].values.tolist())
    assert app.fdb[app.fdb["host"] != ""].empty      # OVS itself learned nothing


def test_first_reply_times_are_recorded_for_both(learning):
    # The first ping through the app waits for packet-ins; how much longer it takes is a
    # measurement for the report, not something a test can assert.
    for run_ in learning:
        assert run_.pings["rtt_first"].dropna().gt(0).all()


def test_controller_killed_mid_run_fails_clearly_and_leaves_nothing(tmp_path, results_dir):
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "waits_for_go.py", "-p", "flow_first=true",
                                    "-p", "then=add_flow", "--flows", "ryu", "--results-dir", results_dir)
    [state] = [json.loads(path.read_text()) for path in Path("/run/ovs-harness").glob("[!.]*.json")]
    os.kill(state["controller"]["pid"], signal.SIGKILL)
    (tmp_path / "go").touch()
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stdout + stderr
    said = " ".join(stdout.split())
    assert "the controller app controllers.flow_installer" in said and "has died" in said
    assert "Traceback" not in stdout + stderr
    assert ours_on_machine() == NOTHING
    assert subprocess.run(["pgrep", "-f", "controllers.launch"], capture_output=True).stdout == b""


def test_clean_stops_the_controller_of_a_killed_run(tmp_path, results_dir):
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "blocking.py", "--flows", "ryu",
                                    "--results-dir", results_dir)
    process.kill()
    process.communicate(timeout=30)
    assert subprocess.run(["pgrep", "-f", "controllers.launch"], capture_output=True).stdout != b""
    cleaned = harness("clean")
    assert "removed controller process" in cleaned.stdout and "removed bridge s1" in cleaned.stdout
    assert ours_on_machine() == NOTHING
    assert subprocess.run(["pgrep", "-f", "controllers.launch"], capture_output=True).stdout == b""


def test_a_controller_killed_while_it_starts_is_found_by_clean(tmp_path, results_dir):
    """The app's process is in the run state from the moment it is started: a SIGKILL of the
    harness while it still waits for the app leaves nothing `clean` cannot find."""
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "normal_mode", "--flows", "ryu", "--results-dir", results_dir],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    state = {}
    while "controller" not in state:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        states = [json.loads(path.read_text()) for path in Path("/run/ovs-harness").glob("[!.]*.json")]
        state = states[0] if states else {}
    assert state["bridges"] == []       # the network is not being built yet
    process.kill()
    process.communicate(timeout=30)
    cleaned = harness("clean")
    assert f"removed controller process {state['controller']['pid']}" in cleaned.stdout
    assert ours_on_machine() == NOTHING
    assert subprocess.run(["pgrep", "-f", "controllers.launch"], capture_output=True).stdout == b""


def test_the_control_channel_refuses_a_request_without_the_token(tmp_path, results_dir):
    """Another local process that finds the app's control port cannot add flows through it."""
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "blocking.py", "--flows", "ryu",
                                    "--results-dir", results_dir)
    try:
        [command] = [line for line in subprocess.run(["pgrep", "-af", "controllers.launch"], capture_output=True,
                                                     text=True).stdout.splitlines()]
        port = int(command.split("--control-port")[1].split()[0])
        replies = []
        for request in ({"op": "add_flow", "dpid": 1, "table_id": 0, "priority": 9, "cookie": 0,
                         "idle_timeout": 0, "hard_timeout": 0, "match": {}, "actions": "normal"},
                        {"op": "ready", "token": "guessed"}):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as channel:
                channel.sendall((json.dumps(request) + "\n").encode())
                replies.append(json.loads(channel.makefile().readline()))
        assert replies == [{"ok": False, "error": "not authorised"}] * 2
        flows = subprocess.run(["ovs-ofctl", "dump-flows", "s1"], capture_output=True, text=True).stdout
        assert "priority=9" not in flows
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    assert ours_on_machine() == NOTHING


def test_openflow_error_in_the_controller_log_fails_the_run(results_dir):
    process = harness("run", TEST_EXPERIMENTS / "bad_port.py", "--flows", "ryu", "--results-dir", results_dir)
    assert process.returncode == 2, process.stdout + process.stderr
    said = " ".join(process.stdout.split())
    assert "the controller app logged" in said and "OpenFlow error from switch" in said
    assert ours_on_machine() == NOTHING


def test_a_switch_keeps_a_controller_app_that_is_silent_longer_than_ovs_default_probe(tmp_path):
    """The app stopped for 12 s, more than Open vSwitch's default inactivity probe allows
    (5 s of silence, then 5 s for the echo's reply): with the harness's (30 s,
    harness.controller.INACTIVITY_PROBE_MS) the switch keeps the connection, and the app
    then sends it a flow that forwards a ping. (OVS 3.1.0 gives a connection its Controller
    row's probe only if the row changes once the connection is up, so the harness sets it
    then. Here the switch connects before the bridge's last change and would have it anyway;
    a switch that connects after it, as one did in a VM under emulation, is tests/test_cluster.py's
    LabSession.)"""
    session = LabSession(SingleSwitch(hosts=2), flows="ryu", results_dir=tmp_path)
    lab = session.open()
    try:
        with lab.step("the app is silent for 12 s, then adds a flow"):
            target = lab.run("s1", ["ovs-vsctl", "get", "Controller", "s1", "target"]).strip()
            port = re.fullmatch(r'"tcp:127\.0\.0\.1:(\d+)"', target).group(1)
            app = int(subprocess.run(["pgrep", "-f", f"controllers.launch .* --openflow-port {port} "],
                                     capture_output=True, text=True, check=True).stdout)
            os.kill(app, signal.SIGSTOP)
            try:
                time.sleep(12)
            finally:
                os.kill(app, signal.SIGCONT)
            lab.flows.add("s1", "action=normal")
            lab.ping("h1", "h2", count=1)
            lab.check.ping_loss("h1", "h2", percent=0)
    finally:
        folder = session.close()
    run = load_run(folder)
    # (a disconnection would have failed it: the switch logs it as an error)
    assert run.metadata["outcome"] == "passed", run.metadata["error"]
