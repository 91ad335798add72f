"""Shared test helpers: the CLI as a user runs it, and what ovs-harness left on the machine."""
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.containers import Docker

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TEST_EXPERIMENTS = DATA / "experiments"
# NORMAL at its edges: each runs on the userspace datapath here and on both in the kernel VM.
EDGE_EXPERIMENTS = ["unknown_unicast_flood", "vlan_normal", "mac_aging", "mac_table_limit", "station_move"]


# The tests that boot the VM image (kernel_vm.image) are marked `vm_image`. They run last,
# and their VMs do their work in the background from the start of the session while the
# other tests run: the image is built (minutes on a fresh machine, mostly waiting on
# downloads and dpkg; nothing once cached), then the modules' VMs boot and run their
# commands.
# Under software emulation they are CPU-bound, and the other tests leave most of the
# machine's two cores idle (they mostly wait on frames and timers), so qemu runs on idle
# time only (SCHED_IDLE): a test's process that wakes up takes its core at once. (At nice 19
# instead, a woken ovs-vswitchd waited for qemu's time slice: on a chain of 64 switches an
# echo took over a second, and the all-pairs probe failed.)
# How long a module's VMs may take beside the other tests before they are killed: a hang,
# not a slow machine (the two-server test's, about 20 minutes alone, had not finished after
# 30 on a fresh machine, where the image and the Vagrant box are built first and beside them).
VM_TIMEOUT = 2700


def pytest_addoption(parser):
    parser.addoption("--extended", action="store_true",
                     help="also run the tests marked `extended`, which CI's 30 minutes leave out (README)")


def pytest_configure(config):
    config.addinivalue_line("markers", "vm_image: boots a VM from the test VM image (runs after the other tests)")
    config.addinivalue_line("markers", "extended: beyond what CI runs in its 30 minutes; run with --extended")


# The VMs of the tests that boot the VM image, by test module: each module registers how it
# boots its VMs (register_vms) and gets what they returned from the `booted_vms` fixture.
VM_BOOTS = {}


def register_vms(module, boot):
    """Register `boot(image, folder, idle, timeout, extended)`, which boots module `module`'s
    VMs (qemu on idle time if `idle`, killed after `timeout` seconds, keeping what they leave
    in `folder`, a new folder), runs their commands (with those only the module's tests
    marked `extended` read if `extended`: one of them is to run) and returns what the
    module's tests read."""
    VM_BOOTS[module] = boot


def _in_background(function, *args, **kwargs):
    """Call function in a daemon thread; return the Future of what it returns. (A daemon
    thread, as an interrupted session must not wait for a VM at its exit: its qemu, started
    by that thread, is killed when the thread ends.)"""
    from concurrent.futures import Future
    future = Future()

    def call():
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as error:      # (the test that needs it raises it)
            future.set_exception(error)
    threading.Thread(target=call, daemon=True).start()
    return future


_background = {}        # "image": the image build's Future; each module's VMs' Future


@pytest.fixture(scope="session", autouse=True)
def vms_in_background(request, tmp_path_factory):
    """If a selected test boots the VM image, start building it, then its modules' VMs."""
    to_run = [item for item in request.session.items if not item.get_closest_marker("skip")]
    if not any(item.get_closest_marker("vm_image") for item in to_run) or _background:
        return
    from kernel_vm.image import build_box, build_image
    image = _background["image"] = _in_background(build_image, log=lambda line: None)
    if any("vagrant_box" in getattr(item, "fixturenames", ()) for item in to_run):
        # On a fresh machine the box is made from the image: here, not in the Vagrant test's time.
        def box_of_the_image():
            image.result()      # (build_box would build the image too, beside this build)
            return build_box(log=lambda line: None)
        _background["box"] = _in_background(box_of_the_image)
    selected = {item.module.__name__ for item in to_run}
    for module, boot in VM_BOOTS.items():
        if module in selected:
            # (the folders are made here: pytest's temporary folders are not made safely by threads)
            folder = tmp_path_factory.mktemp(module)
            extended = any(item.module.__name__ == module and item.get_closest_marker("extended") for item in to_run)
            _background[module] = _in_background(
                lambda boot=boot, folder=folder, extended=extended: boot(image.result(), folder, True, VM_TIMEOUT,
                                                                         extended))


@pytest.fixture(scope="session")
def vm_image():
    """The test VM image (kernel_vm.image.Image), once its build has finished."""
    return _background["image"].result()


@pytest.fixture(scope="session")
def vagrant_box(vm_image):
    """The Vagrant box made of the test VM image (kernel_vm.image.build_box: its Image)."""
    return _background["box"].result()


@pytest.fixture(scope="session")
def booted_vms(vm_image):
    """{module: a finished Future of what its boot returned}, for every module with a
    selected test, once all have finished."""
    from concurrent.futures import wait
    boots = {module: future for module, future in _background.items() if module not in ("image", "box")}
    wait(boots.values())
    return boots


def harness(*args, env=None, timeout=180, **kwargs):
    """Run `python -m harness ARGS` as a user would; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, **kwargs)


def start_run_until_ready(tmp_path, *args, env=None):
    """Start `python -m harness run ARGS` with a test experiment that creates
    $HARNESS_TEST_READY when it is in its step (and may wait for $HARNESS_TEST_GO, which is
    tmp_path/go); return the process once it is ready."""
    ready = tmp_path / "ready"
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "HARNESS_TEST_READY": str(ready), "HARNESS_TEST_GO": str(tmp_path / "go"), **(env or {})})
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never became ready"
        time.sleep(0.1)
    return process


def ours_on_machine():
    """Return what ovs-harness runs have left: marked bridges, veths named as our topologies
    name them, Mininet host shells, state files. Empty lists everywhere mean nothing leaked."""
    listing = json.loads(subprocess.run(
        ["ovs-vsctl", "--format=json", "--columns=name,external_ids", "list", "Bridge"],
        capture_output=True, text=True, check=True).stdout)
    bridges = [name for name, ids in listing["data"] if "ovs-harness-run" in dict(ids[1])]
    links = json.loads(subprocess.run(["ip", "-j", "link", "show", "type", "veth"],
                                      capture_output=True, text=True, check=True).stdout)
    veths = [link["ifname"] for link in links if re.match(r"^[sh]\d+-eth\d+$", link["ifname"])]
    every_link = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True,
                                           check=True).stdout)
    capture_ports = [link["ifname"] for link in every_link if re.match(r"^s\d+-cap\d+$", link["ifname"])]
    shells = subprocess.run(["pgrep", "-af", "mininet:"], capture_output=True, text=True).stdout
    captures = subprocess.run(["pgrep", "-af", "^tcpdump .*/captures/"], capture_output=True, text=True).stdout
    states = [p.name for p in Path("/run/ovs-harness").glob("[!.]*.json")]
    # An OVS node's daemons and their directory (harness.ovs_node), both under /run/ovs-harness/.
    node_daemons = subprocess.run(["pgrep", "-af", "^ovs(db-server|-vswitchd) .*/run/ovs-harness/"],
                                  capture_output=True, text=True).stdout
    node_directories = [str(path) for path in Path("/run/ovs-harness").glob("[!.]*") if path.is_dir()]
    containers = list(Docker().labelled_containers())
    return {"containers": containers, "bridges": bridges, "veths": veths, "capture ports": capture_ports, "host shells": shells.splitlines(),
            "tcpdumps": captures.splitlines(), "state files": states, "OVS node daemons": node_daemons.splitlines(),
            "OVS node directories": node_directories}


NOTHING = {"containers": [], "bridges": [], "veths": [], "capture ports": [], "host shells": [], "tcpdumps": [], "state files": [],
           "OVS node daemons": [], "OVS node directories": []}


@pytest.fixture
def results_dir(tmp_path):
    return tmp_path / "results"


@pytest.fixture(scope="session")
def edge_runs(tmp_path_factory):
    """Each NORMAL edge experiment run once with its defaults on the userspace datapath, for
    the tests of test_normal_edges.py and the datapath comparison of test_kernel_datapath.py:
    {experiment: (CompletedProcess, Run or None)}."""
    from harness import load_run
    results = tmp_path_factory.mktemp("edge-runs")
    runs = {}
    for experiment in EDGE_EXPERIMENTS:
        process = harness("run", experiment, "--datapath", "user", "--results-dir", results, timeout=300)
        folder = Path(process.stdout.splitlines()[-1]) if process.stdout.strip() else None
        runs[experiment] = (process, load_run(folder) if folder and (folder / "metadata.json").exists() else None)
    return runs


@pytest.hookimpl(trylast=True)     # after -m has deselected what it deselects
def pytest_collection_modifyitems(config, items):
    """Tests marked `network` build real networks on real OVS, as root; the others (parsers,
    checks, parameters, results, experiment loading) need neither. Without root, say so
    plainly instead of failing obscurely, and name the command that runs the unit tests.
    The tests that boot the VM image go last (see `vm_image`), and of them, those that wait
    for the VMs booted in the background go after the others (the Vagrant VM's): if those VMs
    are still at work when the other tests are done (on a fresh machine, the image build
    delays them; with --extended, the two-server test's work is the longest), the Vagrant VM
    runs beside them instead of after them. Tests marked `extended` are skipped, saying how
    to run them, unless --extended."""
    if os.geteuid() != 0 and any(item.get_closest_marker("network") for item in items):
        pytest.exit("tests marked `network` build real networks: run them as root "
                    "(sudo .venv/bin/python -m pytest), or run only the unit tests: "
                    ".venv/bin/python -m pytest -m 'not network'", returncode=2)
    if not config.getoption("--extended"):
        for item in items:
            if item.get_closest_marker("extended"):
                item.add_marker(pytest.mark.skip(reason="extended (beyond CI's 30 minutes): run with --extended"))
    items.sort(key=lambda item: (bool(item.get_closest_marker("vm_image")),      # (a stable sort)
                                 "booted_vms" in getattr(item, "fixturenames", ())))


@pytest.fixture(autouse=True)
def no_cascade():
    """After each test, remove what a failed test left, so one failure does not fail the
    tests after it. Tests that check cleanup assert `ours_on_machine() == NOTHING` themselves."""
    yield
    if os.geteuid() == 0 and ours_on_machine() != NOTHING:
        subprocess.run([sys.executable, "-m", "harness", "clean"], cwd=ROOT, capture_output=True)


@pytest.fixture(scope="session")
def journey(tmp_path_factory):
    """One run of neutron_journey on the userspace datapath, with a bridge, a namespace and an
    iptables rule that are not ours standing beside it, for test_neutron_journey.py and the
    datapath comparison of test_kernel_datapath.py: (CompletedProcess, Run or None, what of
    the foreign things survived)."""
    results = tmp_path_factory.mktemp("journey")
    foreign_rule = ["FORWARD", "-s", "192.0.2.99", "-j", "ACCEPT"]
    subprocess.run(["ovs-vsctl", "add-br", "foreign0", "--", "set", "Bridge", "foreign0", "datapath_type=netdev"],
                   check=True)
    subprocess.run(["ip", "netns", "add", "foreign-ns"], check=True)
    subprocess.run(["iptables", "-w", "-A", *foreign_rule], check=True)
    try:
        process = harness("run", "neutron_journey", "--datapath", "user", "--results-dir", results, timeout=300)
        survived = {
            "bridge": "foreign0" in subprocess.run(["ovs-vsctl", "list-br"], capture_output=True, text=True).stdout.split(),
            "namespace": "foreign-ns" in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout,
            "iptables rule": subprocess.run(["iptables", "-w", "-C", *foreign_rule]).returncode == 0}
    finally:
        subprocess.run(["ovs-vsctl", "--if-exists", "del-br", "foreign0"], check=True)
        subprocess.run(["ip", "netns", "del", "foreign-ns"], check=False)
        subprocess.run(["iptables", "-w", "-D", *foreign_rule], check=False)
    from harness import load_run
    from harness.results import run_folders
    folders = run_folders(results)
    return process, load_run(folders[-1]) if folders else None, survived
