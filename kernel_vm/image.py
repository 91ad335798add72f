"""The VM image: Debian 12 with its own kernel (which has openvswitch.ko), provisioned by
the project's setup.sh run in a chroot. One build, two outputs:

- the kernel-datapath test VM's disk (a raw ext4 file system, booted by qemu with the
  image's kernel and initrd, and kernel_vm/guest_init.sh as its init);
- a Vagrant box for libvirt (`build_box`): the same file system behind a boot partition,
  booted by syslinux and systemd, with the `vagrant` user Vagrant logs in as.

Images are cached under a key made of everything that goes into them (setup.sh, the
dependency files, the guest init and this builder), so only the first run pays for a build.
"""
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Everything a build reads from the checkout: a change to any of them makes a new image.
IMAGE_INPUTS = ("setup.sh", "setup.cfg", "pyproject.toml", "constraints.txt", "kernel_vm/guest_init.sh",
                "kernel_vm/image.py")
DEFAULT_CACHE = Path(os.environ.get("OVS_HARNESS_VM_CACHE", "/var/cache/ovs-harness/vm"))
DEBIAN_MIRROR = os.environ.get("OVS_HARNESS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# systemd and what follows it: the Vagrant box boots Debian as a server, which Vagrant reaches
# over ssh (DHCP on eth0) and syncs the checkout into with rsync. The test VM's own init
# ignores them.
BASE_PACKAGES = ("linux-image-amd64,ca-certificates,python3,systemd-sysv,udev,dbus,openssh-server,sudo,"
                 "rsync,ifupdown,isc-dhcp-client")
GUEST_INIT = "/sbin/ovs-harness-guest-init"
# Where the Vagrant VM syncs the checkout: provisioned there, the image's .venv (which
# Vagrant's rsync leaves alone) makes the Vagrant VM's own setup.sh a matter of seconds.
PROJECT_IN_GUEST = "/vagrant"
IMAGE_SIZE = "4G"
ROOT_LABEL = "ovsh-root"
# Vagrant's public insecure key, which a box must accept for the first login (Vagrant then
# puts a key of its own in its place), from the Vagrant that setup.sh installs.
VAGRANT_KEYS = "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant*.pub"
BOOT_PARTITION_MIB = 128
SYSLINUX_MBR = Path("/usr/lib/syslinux/mbr/mbr.bin")
BOX_NAME = "vagrant.box"
LOCAL_AUTHORITIES = Path("/usr/local/share/ca-certificates")
# Every folder a build makes in the cache holds this file: only such folders are ever deleted.
MARKER = ".ovs-harness-vm-image"
# Left out of the copy of the checkout that provisions the image.
NOT_SOURCE = {".venv", ".git", "results", "__pycache__", ".pytest_cache"}


class ImageError(Exception):
    """The image could not be built; the message names the step and its log."""


@dataclass(frozen=True)
class Image:
    """A built image: a raw ext4 disk, and the kernel and initrd to boot it with."""
    folder: Path

    @property
    def disk(self):
        return self.folder / "disk.img"

    @property
    def kernel(self):
        return self.folder / "vmlinuz"

    @property
    def initrd(self):
        return self.folder / "initrd.img"

    @property
    def box(self):
        return self.folder / BOX_NAME


def image_key():
    """Return the hash of the files that go into an image (its cache key)."""
    digest = hashlib.sha256()
    for name in IMAGE_INPUTS:
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cached_image(cache=DEFAULT_CACHE):
    """Return the cached Image for the checkout as it is now, or None."""
    image = Image(Path(cache) / image_key())
    return image if image.disk.exists() else None


def build_image(cache=DEFAULT_CACHE, log=print):
    """Return the Image for the checkout as it is now, building it first if it is not cached.

    A build takes a few minutes (debootstrap, then setup.sh in a chroot, then mkfs.ext4)
    and needs about 2 GB under cache while it runs. Older images in cache are removed."""
    image = cached_image(cache)
    if image:
        return image
    cache = Path(cache)
    final = cache / image_key()
    work = cache / f"{final.name}.partial"
    if work.exists():
        remove_ours(work)       # a build that was killed: refused if its chroot is still mounted
    work.mkdir(parents=True)
    (work / MARKER).write_text("a test VM image of ovs-harness (kernel_vm); deleted when outdated\n")
    tree, build_log = work / "tree", work / "build.log"
    try:
        log(f"building the test VM image in {work} (log: {build_log})")
        _step("debootstrap", build_log, ["debootstrap", "--variant=minbase", f"--include={BASE_PACKAGES}",
                                         "bookworm", str(tree), DEBIAN_MIRROR])
        log("provisioning the image with setup.sh --image")
        copy_checkout(tree / PROJECT_IN_GUEST.lstrip("/"))
        _provision(tree, build_log)
        _add_vagrant_login(tree, build_log)
        shutil.copy(ROOT / "kernel_vm" / "guest_init.sh", tree / GUEST_INIT.lstrip("/"))
        (tree / GUEST_INIT.lstrip("/")).chmod(0o755)
        _copy_boot_files(tree, work)
        log("writing the disk image")
        _step("mkfs.ext4", build_log, ["mkfs.ext4", "-q", "-F", "-L", ROOT_LABEL, "-d", str(tree),
                                       str(work / "disk.img"), IMAGE_SIZE])
        remove_ours(tree)
        remove_old_images(cache, keep=work)
        work.rename(final)
    except BaseException:
        if tree.exists():
            remove_ours(tree)
        raise
    return Image(final)


def build_box(cache=DEFAULT_CACHE, log=print):
    """Return the Image whose `box` is a Vagrant box for libvirt made of the image's own
    disk, kernel and initrd; build the image and the box first if they are not cached.

    The box's disk: an MBR with syslinux's boot code, a FAT boot partition holding the
    kernel, initrd and syslinux, then the image's ext4 file system; converted to qcow2.
    Nothing is mounted: mtools and syslinux write the FAT file system as a plain file."""
    image = build_image(cache, log)
    if image.box.exists():
        return image
    work = image.folder / f"{BOX_NAME}.partial"
    if work.exists():
        remove_ours(work)
    work.mkdir()
    build_log = work / "build.log"
    log(f"making the Vagrant box in {work} (log: {build_log})")
    config = work / "syslinux.cfg"
    config.write_text("DEFAULT debian\nLABEL debian\n  LINUX vmlinuz\n  INITRD initrd.img\n"
                      f"  APPEND root=LABEL={ROOT_LABEL} rw net.ifnames=0 console=ttyS0 console=tty0\n")
    boot, raw = work / "boot.fat", work / "disk.raw"
    _step("mkfs.vfat", build_log, ["mkfs.vfat", "-n", "BOOT", "-C", str(boot), str(BOOT_PARTITION_MIB * 1024)])
    _step("mcopy", build_log, ["mcopy", "-i", str(boot), str(image.kernel), str(image.initrd), str(config), "::/"])
    _step("syslinux", build_log, ["syslinux", "--install", str(boot)])
    root_start = 1 + BOOT_PARTITION_MIB
    with open(raw, "wb") as disk:
        disk.truncate((root_start << 20) + image.disk.stat().st_size)
    layout = (f"label: dos\nstart=1MiB, size={BOOT_PARTITION_MIB}MiB, type=c, bootable\n"
              f"start={root_start}MiB, type=83\n")
    _step("sfdisk", build_log, ["sfdisk", "--quiet", str(raw)], stdin=layout)
    _step("the boot code", build_log, ["dd", f"if={SYSLINUX_MBR}", f"of={raw}", "bs=440", "count=1",
                                       "conv=notrunc", "status=none"])
    _step("the boot partition", build_log, ["dd", f"if={boot}", f"of={raw}", "bs=1M", "seek=1",
                                            "conv=notrunc", "status=none"])
    _step("the root partition", build_log, ["dd", f"if={image.disk}", f"of={raw}", "bs=1M",
                                            f"seek={root_start}", "conv=notrunc,sparse", "status=none"])
    _step("qemu-img", build_log, ["qemu-img", "convert", "-O", "qcow2", str(raw), str(work / "box.img")])
    gigabytes = -(-raw.stat().st_size // (1 << 30))
    (work / "metadata.json").write_text(json.dumps({"provider": "libvirt", "format": "qcow2",
                                                    "virtual_size": gigabytes}))
    _step("tar", build_log, ["tar", "-C", str(work), "-cf", str(work / BOX_NAME), "metadata.json", "box.img"])
    (work / BOX_NAME).rename(image.box)
    remove_ours(work)
    return image


def remove_old_images(cache, keep):
    """Delete the image folders a build made in `cache`, except `keep`; leave anything else
    there (the cache folder is the user's choice: it may be /var/cache itself)."""
    for entry in Path(cache).iterdir():
        if entry != keep and (entry / MARKER).is_file():
            remove_ours(entry)


def mount_points(mountinfo=Path("/proc/self/mountinfo")):
    """Return every mount point on this machine, decoded (/proc/self/mountinfo writes a space
    in a path as \\040, a tab as \\011...)."""
    points = []
    for line in mountinfo.read_text().splitlines():
        point = line.split()[4]
        points.append(re.sub(r"\\([0-7]{3})", lambda octal: chr(int(octal[1], 8)), point))
    return points


def remove_ours(path):
    """The one way this module deletes a folder. It refuses (ImageError) unless `path` is a
    folder a build marked as its own, or lies inside one, and while anything is mounted at
    or below it (a killed build's chroot has the host's /dev, /proc and /sys bound inside:
    deleting through them would delete the host's own devices)."""
    path = Path(path).resolve()
    if not any((folder / MARKER).is_file() for folder in (path, *path.parents)):
        raise ImageError(f"{path} was not made by an ovs-harness image build: not deleting it")
    mounted = [point for point in mount_points() if point == str(path) or point.startswith(f"{path}/")]
    if mounted:
        raise ImageError(f"{', '.join(mounted)} still mounted: unmount, then delete {path}")
    shutil.rmtree(path)


def _step(name, build_log, argv, stdin=None):
    """Run one build command, appending its output to build_log; raise ImageError if it fails."""
    with open(build_log, "a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, input=stdin, text=True)
    if done.returncode:
        tail = build_log.read_text(errors="replace").strip().splitlines()[-15:]
        raise ImageError(f"building the test VM image failed at {name} (exit {done.returncode}); "
                         f"log: {build_log}\n" + "\n".join(tail))


def copy_checkout(destination):
    """Copy the checkout's source (not its venv, git data or results) to destination."""
    shutil.copytree(ROOT, destination, ignore=lambda _folder, names: NOT_SOURCE & set(names))


def _provision(tree, build_log):
    """Run setup.sh --image in a chroot of tree, with no service started by the packages."""
    policy = tree / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# no services start while the image is provisioned\nexit 101\n")
    policy.chmod(0o755)
    shutil.copy("/etc/resolv.conf", tree / "etc/resolv.conf")
    # Trust what the host trusts (a TLS-intercepting proxy's authority, on some CI machines),
    # so that pip in the chroot reaches PyPI as it does on the host.
    shutil.copytree(LOCAL_AUTHORITIES, tree / LOCAL_AUTHORITIES.relative_to("/"), dirs_exist_ok=True)
    mounts = [("proc", ["-t", "proc", "proc"]), ("sys", ["-t", "sysfs", "sysfs"]),
              ("dev", ["--bind", "/dev"]), ("dev/pts", ["--bind", "/dev/pts"])]
    mounted = []
    try:
        for point, how in mounts:
            subprocess.run(["mount", *how, str(tree / point)], check=True)
            mounted.append(tree / point)
        _step("update-ca-certificates", build_log, ["chroot", str(tree), "update-ca-certificates"])
        _step("setup.sh --image", build_log,
              ["chroot", str(tree), f"{PROJECT_IN_GUEST}/setup.sh", "--image"])
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", "--lazy", str(point)], check=False)
        policy.unlink()
    subprocess.run(["chroot", str(tree), "apt-get", "clean"], check=False)


def _add_vagrant_login(tree, build_log):
    """Make the tree a Vagrant box's system too: a `vagrant` user with password-less sudo
    who accepts Vagrant's insecure key, DHCP on eth0, the root file system by its label,
    and a machine id made at first boot (so that VMs from one box differ)."""
    keys = sorted(glob.glob(VAGRANT_KEYS))
    if not keys:
        raise ImageError(f"no Vagrant insecure key at {VAGRANT_KEYS}: run ./setup.sh, which installs Vagrant")
    _step("useradd vagrant", build_log, ["chroot", str(tree), "useradd", "--create-home", "--shell", "/bin/bash",
                                         "vagrant"])
    ssh = tree / "home/vagrant/.ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "authorized_keys").write_text("".join(Path(key).read_text() for key in keys))
    _step("chown vagrant", build_log, ["chroot", str(tree), "chown", "-R", "vagrant:vagrant", "/home/vagrant/.ssh"])
    sudoers = tree / "etc/sudoers.d/vagrant"
    sudoers.write_text("vagrant ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    (tree / "etc/fstab").write_text(f"LABEL={ROOT_LABEL} / ext4 defaults 0 1\n")
    (tree / "etc/network/interfaces.d/eth0").write_text("auto eth0\niface eth0 inet dhcp\n")
    (tree / "etc/hostname").write_text("ovs-harness\n")
    (tree / "etc/machine-id").write_text("")


def _copy_boot_files(tree, work):
    """Copy the image's kernel and initrd next to the disk, for qemu's -kernel and -initrd."""
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    initrds = sorted((tree / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise ImageError(f"the image has no kernel or initrd in {tree / 'boot'}")
    shutil.copy(kernels[-1], work / "vmlinuz")
    shutil.copy(initrds[-1], work / "initrd.img")
