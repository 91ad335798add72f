"""The Vagrantfile the README offers for the kernel datapath: valid for Vagrant (checked
offline, with no provider), and provisioned by the same setup.sh as everything else."""
import os
import re
import shutil
import subprocess

from conftest import ROOT


def validate(folder):
    """`vagrant validate` in `folder`, with Vagrant's own state (.vagrant.d, and the .vagrant
    it leaves beside the Vagrantfile) kept in that folder, out of the checkout and $HOME."""
    return subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=folder,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "VAGRANT_HOME": str(folder / ".vagrant.d")})


def test_vagrantfile_is_valid(tmp_path):
    shutil.copy(ROOT / "Vagrantfile", tmp_path)
    shutil.copy(ROOT / "setup.sh", tmp_path)
    process = validate(tmp_path)
    assert process.returncode == 0, process.stdout + process.stderr
    assert "Vagrantfile validated successfully" in process.stdout


def test_vagrant_vm_is_provisioned_by_setup_sh():
    vagrantfile = (ROOT / "Vagrantfile").read_text()
    assert re.search(r'config\.vm\.provision "shell", inline: "cd /vagrant && \./setup\.sh --guest"', vagrantfile)
    assert 'config.vm.box = ENV.fetch("OVS_HARNESS_BOX", "debian/bookworm64")' in vagrantfile


def test_a_wrong_setting_fails_validation(tmp_path):
    """The validation can fail: a misspelt setting is reported."""
    broken = (ROOT / "Vagrantfile").read_text().replace("config.vm.hostname", "config.vm.hostnam")
    (tmp_path / "Vagrantfile").write_text(broken)
    shutil.copy(ROOT / "setup.sh", tmp_path)
    process = validate(tmp_path)
    assert process.returncode != 0
    assert "hostnam" in process.stdout + process.stderr


def test_setup_sh_refuses_an_option_it_does_not_know():
    process = subprocess.run(["bash", str(ROOT / "setup.sh"), "--guests"], capture_output=True, text=True)
    assert process.returncode == 2
    assert "unknown option --guests" in process.stderr and "--guest inside a VM" in process.stderr
