"""Datapath choice, and doctor on the real machine."""
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import NOTHING, ours_on_machine
from harness import environment
from harness.environment import PROBE_BRIDGE, choose_datapath, doctor_report, probe_datapath
from harness.ovs import VSWITCHD_PIDFILE
from harness.errors import HarnessError

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

NO_MODULE = "the openvswitch kernel module is not loaded"


def test_auto_falls_back_to_userspace_and_says_why(monkeypatch):
    monkeypatch.setattr(environment, "kernel_datapath_problem", lambda: NO_MODULE)
    chosen = choose_datapath("auto")
    assert (chosen.kind, chosen.reason) == ("user", f"because {NO_MODULE}")
    assert str(chosen).startswith("datapath: userspace (netdev), because")


def test_auto_takes_the_kernel_datapath_where_it_works(monkeypatch):
    monkeypatch.setattr(environment, "kernel_datapath_problem", lambda: None)
    assert choose_datapath("auto").kind == "kernel"
    assert choose_datapath("kernel").kind == "kernel"


def test_kernel_where_impossible_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(environment, "kernel_datapath_problem", lambda: NO_MODULE)
    with pytest.raises(HarnessError, match="--datapath kernel is not possible here: the openvswitch"):
        choose_datapath("kernel")
    assert choose_datapath("user").kind == "user"


def test_unknown_datapath_is_refused():
    with pytest.raises(HarnessError, match="must be one of auto, kernel, user"):
        choose_datapath("dpdk")


def test_doctor_on_this_machine_probes_both_datapaths_and_leaves_nothing():
    rows = {what: (found, status, fix) for what, found, status, fix in doctor_report()}
    assert rows["running as root"][:2] == ("yes", "ok")
    assert rows["Open vSwitch running"][:2] == ("yes", "ok")
    assert rows["Mininet importable"][:2] == ("yes", "ok")
    assert rows["userspace (netdev) datapath"][:2] == ("works", "ok")
    if Path("/sys/module/openvswitch").exists():
        assert rows["kernel (system) datapath"][:2] == ("works", "ok")
    else:   # said plainly: unavailable, why, and that runs use userspace; not a failure
        found, status, fix = rows["kernel (system) datapath"]
        assert found.startswith("unavailable: the openvswitch kernel module is not loaded") and status == "warn"
        assert fix.startswith("runs use the userspace datapath instead")
    assert rows["Open vSwitch"][0].count(".") >= 2
    assert ours_on_machine() == NOTHING


def test_a_switch_too_slow_to_set_the_probe_bridge_up_is_said_and_left_nothing(monkeypatch):
    """ovs-vswitchd stopped (as one starved under emulation: in a VM booted beside three
    others, a first bridge took it over 10 s): `add-br` is in the database but gets no
    answer. The doctor says so and deletes the bridge all the same; the switch, once it
    runs again, never sets it up."""
    monkeypatch.setattr(environment, "PROBE_SECONDS", 2)
    vswitchd = int(Path(VSWITCHD_PIDFILE).read_text())
    os.kill(vswitchd, signal.SIGSTOP)
    try:
        problem = probe_datapath("user")
        bridges = subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True).stdout.split()
    finally:
        os.kill(vswitchd, signal.SIGCONT)
    assert problem == "ovs-vsctl: no answer in 2 s"
    assert PROBE_BRIDGE not in bridges
    subprocess.run(["ovs-appctl", "--timeout=10", "version"], check=True, capture_output=True)  # awake again
    assert not Path("/sys/class/net", PROBE_BRIDGE).exists() and ours_on_machine() == NOTHING


def test_auto_takes_the_datapath_the_switchs_bridges_are_on(monkeypatch):
    """Even where the kernel module works: beside bridges on one datapath, a run on the
    other would be refused (OVS waits for one datapath's revalidators only)."""
    monkeypatch.setattr(environment, "kernel_datapath_problem", lambda: None)
    monkeypatch.setattr(environment, "datapaths_in_use", lambda: {"user": ["br-ex", "br-int"]})
    chosen = choose_datapath("auto")
    assert (chosen.kind, chosen.reason) == ("user", "because the switch's bridges (br-ex, br-int) are on it "
                                                    "(OVS waits for one datapath's revalidators only)")


def test_the_datapaths_in_use_are_read_from_the_switch():
    subprocess.run(["ovs-vsctl", "add-br", "notours0", "--", "set", "Bridge", "notours0", "datapath_type=netdev"],
                   check=True)
    try:
        assert environment.datapaths_in_use() == {"user": ["notours0"]}
        assert choose_datapath("auto").kind == "user"
    finally:
        subprocess.run(["ovs-vsctl", "del-br", "notours0"], check=True)
    assert environment.datapaths_in_use() == {}
