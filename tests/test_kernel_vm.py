"""The kernel-datapath test VM's own parts, without booting it: the image's cache key and
the commands the guest runs. (tests/test_kernel_datapath.py boots it for real.)"""
import shlex
import shutil
import subprocess

import pytest

from kernel_vm import guest, image


def test_image_key_changes_with_what_goes_into_the_image(tmp_path, monkeypatch):
    for name in image.IMAGE_INPUTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(image.ROOT / name, tmp_path / name)
    monkeypatch.setattr(image, "ROOT", tmp_path)
    key = image.image_key()
    (tmp_path / "README.md").write_text("not an input")
    assert image.image_key() == key
    with open(tmp_path / "setup.sh", "a") as setup:
        setup.write("# changed\n")
    assert image.image_key() != key


def test_guest_commands_are_quoted_and_each_keeps_its_output_and_status(tmp_path):
    commands = [["echo", "a; rm -rf /", "$HOME"], [".venv/bin/python", "-m", "harness", "doctor"]]
    guest._write_commands(tmp_path, commands)
    lines = (tmp_path / "commands.sh").read_text().splitlines()[1:]
    for index, (line, argv) in enumerate(zip(lines, commands)):
        command, output, rest = line.partition(f" > /mnt/exchange/{index}.out 2>&1; ")
        assert shlex.split(command) == argv
        assert rest == f"echo $? > /mnt/exchange/{index}.status"


def test_qemu_runs_the_cached_image_read_only_without_network(tmp_path):
    argv = guest._qemu_argv(image.Image(tmp_path), tmp_path / "exchange", tmp_path / "console.log")
    assert argv[:5] == ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max"]
    assert f"file={tmp_path / 'disk.img'},format=raw,if=virtio,snapshot=on" in argv
    assert ["-nic", "none"] == argv[argv.index("-nic"):argv.index("-nic") + 2]
    assert any(arg.endswith(",readonly=on") and "mount_tag=source" in arg for arg in argv)


def test_a_tree_with_something_mounted_in_it_is_not_deleted(tmp_path):
    """The chroot's /dev is the host's: a tree is only deleted once nothing is mounted in it."""
    tree = tmp_path / "tree"
    (tree / "dev").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(tree / "dev")], check=True)
    try:
        (tree / "dev" / "keep").write_text("a host device")
        with pytest.raises(image.ImageError, match="still mounted"):
            image._remove_tree(tree)
        assert (tree / "dev" / "keep").exists()
    finally:
        subprocess.run(["umount", str(tree / "dev")], check=True)
    image._remove_tree(tree)
    assert not tree.exists()
