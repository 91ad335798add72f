"""Datapath choice, and doctor on the real machine."""
from pathlib import Path

import pytest

from conftest import NOTHING, ours_on_machine
from harness import environment
from harness.environment import choose_datapath, doctor_report
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
