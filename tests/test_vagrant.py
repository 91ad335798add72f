"""The README's Vagrant path, for real: `vagrant up` with the checkout's Vagrantfile on libvirt
(software emulation where KVM is not usable), provisioned by its shell provisioner
(`setup.sh --guest`, offline: the box holds every package, and the image's `.venv` in
`/vagrant`), then the README's `vagrant ssh -c '... harness run ...'` commands, and
`vagrant destroy -f`.

The box is the one `kernel_vm` makes from the test VM's image (`build_box`), so nothing is
downloaded; a user's own `vagrant up` uses Debian's public box instead. The checkout is
copied to a folder of the test's own, which names the libvirt domain; Vagrant's own state
(boxes, keys) lives in the test's folder too. libvirt is started if it is not running, and
everything it made for the test is taken back (`libvirt_host`).
"""
import io
import os
import re
import subprocess
import tarfile

import pytest

from conftest import ROOT
from harness.results import load_run
from kernel_vm.image import copy_checkout
from libvirt_host import LibvirtHost, kvm_usable, machine_state

pytestmark = [pytest.mark.network, pytest.mark.vm_image]     # root, libvirt, a VM

BOX = "ovs-harness/test"
# vagrant-libvirt names the box's volume in the storage pool after the box, "/" spelt so.
BOX_VOLUME_PREFIX = BOX.replace("/", "-VAGRANTSLASH-") + "_vagrant_box_image_"
# The README's commands, run as they are written there.
README_RUN = "cd /vagrant && sudo .venv/bin/python -m harness run {}"
README_DOCTOR = "cd /vagrant && sudo .venv/bin/python -m harness doctor"
UP_TIMEOUT = 1200


class VagrantVM:
    """The project's Vagrant VM of this test: its folder (a copy of the checkout), the
    environment Vagrant runs in, and what `vagrant up` printed."""

    def __init__(self, folder, vagrant_home):
        self.folder = folder
        self.env = {**os.environ, "VAGRANT_HOME": str(vagrant_home), "OVS_HARNESS_BOX": BOX,
                    "VAGRANT_NO_COLOR": "1"}
        self.up_output = ""

    def vagrant(self, *args, timeout=300, check=True, binary=False):
        done = subprocess.run(["vagrant", *args], cwd=self.folder, env=self.env, capture_output=True,
                              text=not binary, timeout=timeout)
        if check and done.returncode:
            pytest.fail(f"vagrant {' '.join(args)} failed (exit {done.returncode}):\n"
                        f"{done.stdout if not binary else ''}\n{done.stderr}")
        return done

    def ssh(self, command, **options):
        return self.vagrant("ssh", "-c", command, **options)


@pytest.fixture(scope="module")
def host():
    """libvirt for the test, and the machine's state before it."""
    before = machine_state()
    libvirt = LibvirtHost(BOX_VOLUME_PREFIX)
    try:
        libvirt.start()
        yield libvirt, before
    finally:
        libvirt.take_back()


@pytest.fixture(scope="module")
def vm(host, vagrant_box, tmp_path_factory):
    """The VM, up and provisioned as the README says; destroyed at the end whatever happened
    (the last test destroys it itself, to check what is left)."""
    box = vagrant_box.box
    base = tmp_path_factory.mktemp("vagrant")
    folder = base / f"ovs-harness-{os.getpid()}"
    copy_checkout(folder)
    vm = VagrantVM(folder, base / "vagrant.d")
    vm.vagrant("box", "add", "--name", BOX, str(box))
    try:
        up = vm.vagrant("up", timeout=UP_TIMEOUT, check=False)
        vm.up_output = up.stdout + up.stderr
        assert up.returncode == 0, f"vagrant up failed (exit {up.returncode}):\n{vm.up_output}"
        yield vm
    finally:
        vm.vagrant("destroy", "-f", check=False)
        vm.vagrant("box", "remove", "--force", BOX, check=False)


def test_vagrant_up_provisions_the_vm_with_setup_sh_offline(vm):
    assert "Running provisioner: shell" in vm.up_output
    # every Debian package is in the box, and the .venv the image made in /vagrant, which
    # Vagrant's rsync leaves in place, was made from the same dependency files
    assert "setup.sh: installing" not in vm.up_output
    assert "setup.sh: .venv is up to date" in vm.up_output
    assert "setup.sh: ready" in vm.up_output


def test_the_vm_runs_on_kvm_only_where_kvm_is_usable(vm):
    domain = subprocess.run(["virsh", "--connect", "qemu:///system", "dumpxml", f"{vm.folder.name}_default"],
                            capture_output=True, text=True, check=True).stdout
    assert re.search(r"<domain type='(\w+)'", domain).group(1) == ("kvm" if kvm_usable() else "qemu")


def test_the_readme_gives_the_commands_this_test_runs():
    readme = (ROOT / "README.md").read_text()
    assert f"vagrant ssh -c '{README_RUN.format('normal_mode')}'" in readme
    assert f"vagrant ssh -c '{README_DOCTOR}'" in readme


def test_doctor_in_the_vagrant_vm_reports_the_kernel_datapath(vm):
    output = " ".join(vm.ssh(f"COLUMNS=200 {README_DOCTOR}").stdout.split())
    assert "ok │ kernel (system) datapath │ works" in output
    assert "auto picks │ datapath: kernel (system), because the openvswitch kernel module is loaded" in output


@pytest.fixture(scope="module")
def runs(vm, tmp_path_factory):
    """normal_mode run by the README's command (the other experiments' runs on the kernel
    datapath are in tests/test_kernel_datapath.py); its run folder, copied back from the VM."""
    vm.ssh(README_RUN.format("normal_mode"), timeout=600)
    archive = vm.ssh("sudo tar -C /vagrant -cf - results", binary=True).stdout
    copied = tmp_path_factory.mktemp("from-vagrant")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(copied)      # the VM's own results folder
    return {"normal_mode": [load_run(metadata.parent) for metadata in
                            sorted((copied / "results" / "normal_mode").glob("*/metadata.json"))]}


def test_the_readmes_run_passes_on_the_kernel_datapath_chosen_by_auto(runs):
    [run] = runs["normal_mode"]
    assert run.metadata["datapath"]["type"] == "kernel"
    assert run.metadata["outcome"] == "passed"
    assert run.checks["passed"].all() and len(run.checks) >= 10


def test_the_blogs_eight_packets_and_560_bytes_in_the_vagrant_vm(runs):
    [run] = runs["normal_mode"]
    after_ping = run.flows[run.flows["step"] == "h1 ping h2"]
    assert after_ping[["actions", "n_packets", "n_bytes"]].values.tolist() == [["NORMAL", 8, 560]]


def test_destroy_leaves_nothing_behind(host, vm, runs):
    """Last: destroy the VM and take libvirt back; then no domain, network, pool, volume,
    dnsmasq, qemu, libvirt daemon or firewall rule remains that was not there before. (The
    suite's other test VMs may end meanwhile: a process that was there before and is gone is
    not this test's.)"""
    libvirt, before = host
    vm.vagrant("destroy", "-f")
    vm.vagrant("box", "remove", "--force", BOX)
    libvirt.take_back()
    after = machine_state()
    started = {name: sorted(set(pids) - set(before["processes"][name])) for name, pids in after.pop("processes").items()}
    assert started == {name: [] for name in started}
    assert after == {item: state for item, state in before.items() if item != "processes"}
