"""More hosts than raw Mininet attaches reliably: every port is attached and verified.

(Raw Mininet 2.3.0 sends its whole `ovs-vsctl add-br ... add-port ...` line through a shell
on a pty, which cut it here: 58 of 128 ports attached, silently. The harness creates each
bridge with one ovs-vsctl transaction given as an argument list, and checks every port.)"""
from pathlib import Path

import pytest

from conftest import NOTHING, harness, ours_on_machine
from harness import load_run

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


def test_64_hosts_every_port_attached_and_the_blog_still_holds(results_dir):
    process = harness("run", "normal_mode", "-p", "hosts=64", "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(Path(process.stdout.splitlines()[-1]))
    ports = run.ports[run.ports["step"] == "build"]
    assert sorted(ports["port"]) == [-1] + list(range(1, 65))
    assert set(ports["port_name"]) == {"s1"} | {f"s1-eth{n}" for n in range(1, 65)}
    assert run.checks["passed"].all()
    assert len(run.checks[run.checks["name"].str.contains("did not learn")]) == 62
    assert ours_on_machine() == NOTHING


def test_room_for_every_arp_entry_is_made_for_a_big_network_and_given_back(results_dir):
    # 140 hosts may hold 140 x 140 ARP entries, more than Mininet's own limit of 16384.
    limit = Path("/proc/sys/net/ipv4/neigh/default/gc_thresh3")
    before = limit.read_text()
    process = harness("run", "normal_mode", "-p", "hosts=140", "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(Path(process.stdout.splitlines()[-1]))
    assert f"net.ipv4.neigh.default.gc_thresh3 back to {int(before)}" in run.metadata["removed_after_mininet"]
    assert limit.read_text() == before
    assert ours_on_machine() == NOTHING


def test_a_run_leaves_the_machines_settings_as_it_found_them(results_dir):
    """Mininet's fixLimits would raise a dozen machine-wide settings for good on a run's first
    network (this machine's had them raised long ago): lowered here below what it sets, the
    backlog a run needs is raised for the run and put back, and what a run does not need
    (a socket buffer's maximum) is not touched."""
    settings = {name: Path("/proc/sys/net/core", name) for name in ("netdev_max_backlog", "rmem_max")}
    before = {name: path.read_text() for name, path in settings.items()}
    try:
        settings["netdev_max_backlog"].write_text("1000")
        settings["rmem_max"].write_text("212992")
        process = harness("run", "normal_mode", "--results-dir", results_dir)
        assert process.returncode == 0, process.stdout + process.stderr
        run = load_run(Path(process.stdout.splitlines()[-1]))
        assert "net.core.netdev_max_backlog back to 1000" in run.metadata["removed_after_mininet"]
        assert [path.read_text().strip() for path in settings.values()] == ["1000", "212992"]
    finally:
        for name, path in settings.items():
            path.write_text(before[name])
    assert ours_on_machine() == NOTHING
