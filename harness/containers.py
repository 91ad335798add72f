"""Hosts that are Docker containers (the seed's nova-docker post: instances with a root file
system and processes of their own), as far as Docker is concerned: what an experiment
declares (`Container`), the Docker daemon, the project's instance image, and the run's
containers. The Mininet side, a host whose network namespace is the container's, is
harness.mininet_nodes.ContainerHost.

Every container of a run is started with `--network none` (its only interfaces are the ones
the run moves into it), with no capability but the ones it declares (never --privileged),
carries the label ovs-harness.run=<run id>, and is named ovsh-<run id>-<host>. The run state
names it before it is created; teardown, or `clean` after a kill, removes only a container
that has both the recorded name and the run's label.

The harness's own tools (ping, fping, tcpdump, sysctl, ip) run in a container's network
namespace from the machine's file system, as on any host, so an image needs none of them:
only what its own processes run.
"""
import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

from .errors import HarnessError
from .tools import probe
from .waiting import poll_until

DOCKER = "docker"
RUN_LABEL = "ovs-harness.run"
# The machine that drove the run (harness.cluster.this_machine): on another server of a run on
# several, `clean --cluster` finds by it the containers of this machine's runs whose state was lost.
DRIVER_LABEL = "ovs-harness.driver"
DOCKERD_LOG = Path("/var/log/ovs-harness-dockerd.log")
# Seconds a Docker command that goes through its daemon (and containerd and runc: `docker run`,
# `rm`, `import`) may take. Alone, each takes about a second; on servers under emulation, busy
# with the run, `docker run` took over 30 s.
DOCKER_TIMEOUT = 120
# Seconds a dockerd the harness started, or found running but not answering yet (just
# started by the server's init), may take to answer.
DOCKERD_START_TIMEOUT = 120.0
# How the harness starts dockerd where it is installed but does not answer: in a session of its
# own, its output in DOCKERD_LOG, so that it outlives the run and the ssh session that started it.
# A dockerd already there is only slow (`docker version` timed out on a busy server): that
# one is waited for, never joined by a second (status DOCKERD_ALREADY_RUNNING).
DOCKERD_ALREADY_RUNNING = 3
START_DOCKERD = (f"command -v dockerd >/dev/null || exit 127; "
                 f"pgrep -x dockerd >/dev/null && exit {DOCKERD_ALREADY_RUNNING}; "
                 f"setsid dockerd >>{DOCKERD_LOG} 2>&1 </dev/null &")
DOCKER_HINT = "install Docker (apt-get install docker.io), or leave container hosts out"

# The project's instance image: busybox (Debian's busybox-static, one static binary) and an
# HTTP server on port 80 serving INSTANCE_PAGE, built offline by `docker import` (no
# registry, no Dockerfile). Its tag is the hash of what it is made of, so a changed busybox
# or recipe makes a new image and an unchanged one is built once.
INSTANCE_IMAGE = "ovs-harness/instance"
BUSYBOX = Path("/bin/busybox")
BUSYBOX_HINT = "install Debian's busybox-static (run `sudo ./setup.sh`)"
INSTANCE_COMMANDS = ("sh", "httpd", "wget", "sleep", "cat", "hostname", "ps")
INSTANCE_PAGE = "ovs-harness instance\n"
INSTANCE_CMD = ["/bin/httpd", "-f", "-p", "80", "-h", "/www"]

# Capabilities a container may be given (capabilities(7)); NET_BIND_SERVICE lets the
# instance image's HTTP server listen on port 80.
CAPABILITIES = ("NET_BIND_SERVICE", "NET_RAW", "NET_ADMIN", "CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID",
                "SETGID", "KILL", "SYS_CHROOT", "AUDIT_WRITE", "MKNOD", "SETPCAP", "SETFCAP", "FSETID")


@dataclass(frozen=True)
class Container:
    """What a container host runs: `image` (a local Docker image; the default is the
    project's instance image, built on first use), `command` (an argument list replacing
    the image's own command; empty keeps it) and `capabilities` (all others are dropped)."""
    image: str = INSTANCE_IMAGE
    command: Tuple[str, ...] = ()
    capabilities: Tuple[str, ...] = ("NET_BIND_SERVICE",)

    def __post_init__(self):
        if not isinstance(self.image, str) or not self.image or self.image.startswith("-"):
            raise HarnessError(f"a container's image is a Docker image name, not {self.image!r}")
        if isinstance(self.command, str) or not all(isinstance(word, str) for word in self.command):
            raise HarnessError(f"a container's command is a list of words, never a shell string: not {self.command!r}")
        for capability in self.capabilities:
            if capability not in CAPABILITIES:
                raise HarnessError(f"unknown capability {capability!r} (capabilities: {', '.join(CAPABILITIES)})")
        object.__setattr__(self, "command", tuple(self.command))
        object.__setattr__(self, "capabilities", tuple(self.capabilities))

    def __str__(self):
        return f"container of {self.image}" + (f" running {' '.join(self.command)}" if self.command else "")


def container_name(run_id, host):
    """The name of host `host`'s container in run `run_id`."""
    return f"ovsh-{run_id}-{host}"


class Docker:
    """The Docker daemon of this machine, or of another server of a run on several:
    `there(argv, stdin=False)` gives the argv that runs argv there (through ssh: see
    harness.cluster.Cluster.argv), `where` names that server in what is said."""

    def __init__(self, there=None, where=None, run=probe):
        """run(argv, timeout) -> (status, stdout, stderr): how a command is run (tools.probe;
        a recorded fake in tests)."""
        self.there = there or (lambda argv, stdin=False: list(argv))
        self.where = where
        self.run = run

    def _on(self):
        return f" on {self.where}" if self.where else ""

    def _docker(self, *args, timeout=DOCKER_TIMEOUT, content=None):
        """Return (exit status, stdout, stderr) of `docker args` there (see tools.probe);
        content: bytes given to its standard input."""
        argv = self.there([DOCKER, *args], stdin=content is not None)
        if content is None:
            return self.run(argv, timeout)
        try:
            done = subprocess.run(argv, input=content, capture_output=True, timeout=timeout, start_new_session=True)
        except subprocess.TimeoutExpired:
            return 124, "", f"{DOCKER}: no answer in {timeout} s"
        return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")

    def problem(self):
        """Return why Docker cannot run containers there (not installed, daemon not
        answering), or None."""
        return self._problem()[1]

    def _problem(self):
        """(whether Docker is installed there, problem() says)."""
        status, _out, err = self._docker("version", "--format", "{{.Server.Version}}", timeout=10)
        if status == 127:
            return False, f"Docker is not installed{self._on()}: {DOCKER_HINT}"
        if status:
            return True, f"the Docker daemon{self._on()} does not answer " \
                         f"({err.strip().splitlines()[-1] if err.strip() else status})"
        return True, None

    def require(self, progress):
        """Make sure the Docker daemon answers: start `dockerd` if Docker is installed but
        its daemon is not running (as the harness's set-up starts Open vSwitch), and leave
        it running for later runs; wait for a running one that is slow to answer. Returns
        "running" or "started by this run"; raises
        HarnessError if Docker is missing or its daemon will not answer."""
        installed, problem = self._problem()
        if problem is None:
            return "running"
        if not installed:
            raise HarnessError(f"this experiment has container hosts: {problem}")
        # Its own session and no tie to the harness (or to the ssh session that started it):
        # the daemon outlives the run, as OVS does.
        status, _out, err = self.run(self.there(["sh", "-c", START_DOCKERD]), 10)
        already_running = status == DOCKERD_ALREADY_RUNNING
        if status and not already_running:
            raise HarnessError(f"this experiment has container hosts: dockerd{self._on()} "
                               f"{'is not installed' if status == 127 else 'did not start: ' + err.strip()}: "
                               f"{DOCKER_HINT}")
        progress(f"the Docker daemon{self._on()} runs but is slow to answer: waiting up to "
                 f"{DOCKERD_START_TIMEOUT:g} s" if already_running else
                 f"started the Docker daemon{self._on()} (its log: {DOCKERD_LOG})")
        if not poll_until(lambda: self.problem() is None, DOCKERD_START_TIMEOUT):
            raise HarnessError(f"dockerd{self._on()} did not answer within {DOCKERD_START_TIMEOUT:g} s: "
                               f"see {DOCKERD_LOG}{self._on()}")
        return "running" if already_running else "started by this run"

    def ensure_instance_image(self, progress):
        """Return the instance image's tag, building it there if it lacks it (about a
        second: no registry, no network), from this machine's busybox: the same image on
        every server."""
        tag = instance_image_tag()
        if self._docker("image", "inspect", tag)[0] == 0:
            return tag
        progress(f"building the instance image {tag}{self._on()} from {BUSYBOX}")
        status, _out, err = self._docker("import", "--change", f"CMD {json.dumps(INSTANCE_CMD)}",
                                         "--change", "ENV PATH=/bin", "-", tag,
                                         content=_instance_tree())
        if status:
            raise HarnessError(f"could not build the instance image{self._on()}: {err.strip()}")
        # A busybox that is not static (Debian's `busybox` rather than `busybox-static`) cannot
        # run in an image without a C library: find out now, not when a host's container dies.
        status, _out, err = self._docker("run", "--rm", "--network", "none", tag, "/bin/busybox", "true")
        if status:
            self._docker("image", "rm", tag)
            raise HarnessError(f"the instance image does not run ({err.strip()}): {BUSYBOX} must be static; "
                               f"{BUSYBOX_HINT}")
        return tag

    def resolve_images(self, containers, progress):
        """Return {image as declared: (image to run, its id)} for the images of `containers`
        ({host: Container}), building the instance image if needed. Raises HarnessError for
        an image the daemon does not have (the harness never pulls: a run uses what is there)."""
        resolved = {}
        for image in sorted({spec.image for spec in containers.values()}):
            local = self.ensure_instance_image(progress) if image == INSTANCE_IMAGE else image
            status, out, _err = self._docker("image", "inspect", "--format", "{{.Id}}", local)
            if status:
                raise HarnessError(f"Docker image {image!r} is not{self._on() or ' on this machine'}: "
                                   f"`docker pull {image}` or `docker load` it first")
            resolved[image] = (local, out.strip())
        return resolved

    def labelled_containers(self, driver=None):
        """Return {container name: the run id of its label} for every container ovs-harness
        made there (driven by machine `driver`, if given), running or not; {} where Docker
        does not answer."""
        driven = ["--filter", f"label={DRIVER_LABEL}={driver}"] if driver else []
        status, out, _err = self._docker("ps", "--all", "--filter", f"label={RUN_LABEL}", *driven,
                                         "--format", f'{{{{.Names}}}} {{{{.Label "{RUN_LABEL}"}}}}')
        if status:
            return {}
        return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)

    def remove_containers(self, names, run_id):
        """Remove the containers named `names` that carry run `run_id`'s label (a container of
        the same name without it is not ours); return one line per container removed."""
        return self._remove([name for name, owner in self.labelled_containers().items()
                             if owner == run_id and name in names])

    def remove_dead_runs(self, live, driver=None):
        """Remove every container ovs-harness made there (driven by machine `driver`, if
        given) whose run is not one of `live`; return one line per container removed."""
        return self._remove([name for name, owner in self.labelled_containers(driver).items() if owner not in live])

    def _remove(self, names):
        if names:
            self._docker("rm", "--force", *names)
        return [f"container {name}{self._on()}" for name in names]


def instance_image_tag():
    """The instance image's name with its tag: the hash of busybox and of this recipe."""
    if not BUSYBOX.exists():
        raise HarnessError(f"the instance image is made from {BUSYBOX}, which is missing: {BUSYBOX_HINT}")
    recipe = json.dumps([INSTANCE_COMMANDS, INSTANCE_PAGE, INSTANCE_CMD]).encode()
    digest = hashlib.sha256(BUSYBOX.read_bytes() + recipe).hexdigest()[:12]
    return f"{INSTANCE_IMAGE}:{digest}"


def _instance_tree():
    """The instance image's file system as a tar file's bytes: /bin/busybox, a link per
    command, the web root."""
    tree = io.BytesIO()
    with tarfile.open(fileobj=tree, mode="w") as tar:
        def add(name, **fields):
            info = tarfile.TarInfo(name)
            for key, value in fields.items():
                setattr(info, key, value)
            return info
        for folder in ("bin", "www", "tmp", "etc"):
            tar.addfile(add(folder, type=tarfile.DIRTYPE, mode=0o1777 if folder == "tmp" else 0o755))
        with open(BUSYBOX, "rb") as binary:
            tar.addfile(add("bin/busybox", size=BUSYBOX.stat().st_size, mode=0o755), binary)
        for command in INSTANCE_COMMANDS:
            tar.addfile(add(f"bin/{command}", type=tarfile.SYMTYPE, linkname="busybox"))
        page = INSTANCE_PAGE.encode()
        tar.addfile(add("www/index.html", size=len(page), mode=0o644), io.BytesIO(page))
    return tree.getvalue()


def run_argv(name, host, run_id, spec, image):
    """The `docker run` argument list of host `host`'s container."""
    from .cluster import this_machine
    capabilities = [word for capability in spec.capabilities for word in ("--cap-add", capability)]
    return [DOCKER, "run", "--detach", "--name", name, "--hostname", host, "--network", "none",
            "--label", f"{RUN_LABEL}={run_id}", "--label", f"{DRIVER_LABEL}={this_machine()}",
            "--cap-drop", "ALL", *capabilities,
            "--security-opt", "no-new-privileges", image, *spec.command]
