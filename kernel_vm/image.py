"""The test VM's disk image: Debian 12 with its own kernel (which has openvswitch.ko),
provisioned by the project's setup.sh run in a chroot, as the Vagrant VM is provisioned.

Images are cached under a key made of everything that goes into them (setup.sh, the
dependency files, the guest init and this builder), so only the first run pays for a build.
"""
import hashlib
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
BASE_PACKAGES = "linux-image-amd64,ca-certificates,python3"
GUEST_INIT = "/sbin/ovs-harness-guest-init"
PROJECT_IN_GUEST = "/opt/ovs-harness"
IMAGE_SIZE = "4G"
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
        _copy_checkout(tree / PROJECT_IN_GUEST.lstrip("/"))
        _provision(tree, build_log)
        shutil.copy(ROOT / "kernel_vm" / "guest_init.sh", tree / GUEST_INIT.lstrip("/"))
        (tree / GUEST_INIT.lstrip("/")).chmod(0o755)
        _copy_boot_files(tree, work)
        log("writing the disk image")
        _step("mkfs.ext4", build_log, ["mkfs.ext4", "-q", "-F", "-L", "ovsh-root", "-d", str(tree),
                                       str(work / "disk.img"), IMAGE_SIZE])
        remove_ours(tree)
        remove_old_images(cache, keep=work)
        work.rename(final)
    except BaseException:
        if tree.exists():
            remove_ours(tree)
        raise
    return Image(final)


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


def _step(name, build_log, argv):
    """Run one build command, appending its output to build_log; raise ImageError if it fails."""
    with open(build_log, "a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        tail = build_log.read_text(errors="replace").strip().splitlines()[-15:]
        raise ImageError(f"building the test VM image failed at {name} (exit {done.returncode}); "
                         f"log: {build_log}\n" + "\n".join(tail))


def _copy_checkout(destination):
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


def _copy_boot_files(tree, work):
    """Copy the image's kernel and initrd next to the disk, for qemu's -kernel and -initrd."""
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    initrds = sorted((tree / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise ImageError(f"the image has no kernel or initrd in {tree / 'boot'}")
    shutil.copy(kernels[-1], work / "vmlinuz")
    shutil.copy(initrds[-1], work / "initrd.img")
