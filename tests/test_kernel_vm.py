"""The kernel-datapath test VM's own parts, without booting it: the image's cache key and
the commands the guest runs. (tests/test_kernel_datapath.py boots it for real.)"""
import shlex
import shutil
import subprocess
from pathlib import Path

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
        timed, output, rest = line.partition(f" > /mnt/exchange/{index}.out 2>&1; ")
        start, _, command = timed.partition("; ")
        assert start == "started=$(date +%s.%N)" and shlex.split(command) == argv
        assert rest == f"status=$?; echo $started $status $(date +%s.%N) > /mnt/exchange/{index}.status"


def test_a_guest_commands_status_file_gives_its_exit_status_and_time(tmp_path):
    """commands.sh run by sh, as the guest runs it (with the exchange folder moved here)."""
    guest._write_commands(tmp_path, [["sh", "-c", "sleep 0.2; exit 3"], ["true"]])
    script = (tmp_path / "commands.sh").read_text().replace("/mnt/exchange", str(tmp_path))
    subprocess.run(["sh", "-c", script], check=True)
    started, status, ended = (tmp_path / "0.status").read_text().split()
    assert status == "3" and 0.2 <= float(ended) - float(started) < 5
    assert (tmp_path / "1.status").read_text().split()[1] == "0"


def test_qemu_runs_the_cached_image_read_only_without_network(tmp_path):
    argv = guest._qemu_argv(image.Image(tmp_path), tmp_path / "exchange", tmp_path / "console.log")
    assert argv[:5] == ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max"]
    assert f"file={tmp_path / 'disk.img'},format=raw,if=virtio,snapshot=on" in argv
    assert ["-nic", "none"] == argv[argv.index("-nic"):argv.index("-nic") + 2]
    assert any(arg.endswith(",readonly=on") and "mount_tag=source" in arg for arg in argv)


def test_the_link_between_two_vms_sends_each_ends_frames_to_the_other_on_ports_that_differ():
    ends = guest.udp_link()
    (local_a, remote_a, mac_a), (local_b, remote_b, mac_b) = ends
    assert local_a != local_b and (remote_a, remote_b) == (local_b, local_a) and mac_a != mac_b
    argv = guest._qemu_argv(image.Image(Path("/i")), Path("/e"), Path("/c"), ends[1])
    assert f"socket,id=link,udp=127.0.0.1:{local_a},localaddr=127.0.0.1:{local_b}" in argv


@pytest.fixture
def marked_build(tmp_path):
    """A folder as a build leaves it in the cache, with a debootstrap tree inside."""
    build = tmp_path / "cache" / "0123456789abcdef.partial"
    (build / "tree" / "dev").mkdir(parents=True)
    (build / image.MARKER).write_text("ours")
    return build


@pytest.mark.network     # mounts need root
@pytest.mark.parametrize("name", ["tree", "tree with space"])
def test_a_tree_with_something_mounted_in_it_is_not_deleted(marked_build, name):
    """The chroot's /dev is the host's: a tree is only deleted once nothing is mounted in it
    (also when its path has a space, which /proc/self/mountinfo writes as \\040)."""
    tree = marked_build / name
    (tree / "dev").mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(tree / "dev")], check=True)
    try:
        (tree / "dev" / "keep").write_text("a host device")
        with pytest.raises(image.ImageError, match="still mounted"):
            image.remove_ours(tree)
        with pytest.raises(image.ImageError, match="still mounted"):
            image.remove_ours(marked_build)
        assert (tree / "dev" / "keep").exists()
    finally:
        subprocess.run(["umount", str(tree / "dev")], check=True)
    image.remove_ours(tree)
    assert not tree.exists()


def test_only_what_a_build_marked_is_deleted(tmp_path, marked_build):
    cache = marked_build.parent
    foreign = cache / "someone-elses"
    (foreign / "data").mkdir(parents=True)
    (cache / "a-file").write_text("not ours")
    old = cache / "fedcba9876543210"
    old.mkdir()
    (old / image.MARKER).write_text("ours")
    new = cache / "aaaaaaaaaaaaaaaa.partial"
    new.mkdir()
    (new / image.MARKER).write_text("ours")
    image.remove_old_images(cache, keep=new)
    assert sorted(entry.name for entry in cache.iterdir()) == ["a-file", "aaaaaaaaaaaaaaaa.partial", "someone-elses"]
    with pytest.raises(image.ImageError, match="not made by an ovs-harness image build"):
        image.remove_ours(foreign)
    with pytest.raises(image.ImageError, match="not made by an ovs-harness image build"):
        image.remove_ours(cache)
    assert (foreign / "data").is_dir()


def test_mount_points_are_decoded(tmp_path):
    info = tmp_path / "mountinfo"
    info.write_text("36 35 98:0 / /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n")
    assert image.mount_points(info) == ["/mnt/with space"]
