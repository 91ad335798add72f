"""Boot the test VM under qemu and run commands in it, with the checkout's current source.

The guest sees two host folders over virtio-9p: the checkout (read-only), and an exchange
folder where it finds commands.sh and leaves each command's output, exit status and
results. qemu uses software emulation (TCG), which works where KVM does not; the disk is
opened in snapshot mode, so the cached image never changes.
"""
import contextlib
import ctypes
import functools
import json
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .image import GUEST_INIT, ROOT

BOOT_TIMEOUT = 900
FOLLOWER_GRACE = 60
GUEST_MEMORY_MB = 2048
GUEST_CPUS = 2
_PR_SET_PDEATHSIG = 1


class GuestError(Exception):
    """The guest failed (did not boot, hung, or never ran the commands); the message ends
    with the tail of its console log."""


@dataclass
class CommandResult:
    """One command run in the guest: its argv, exit status, output (stdout + stderr) and
    wall time in seconds (under emulation: what it costs CI)."""
    argv: list
    status: int
    output: str
    seconds: float

    def __str__(self):
        return f"$ {shlex.join(self.argv)}  (exit {self.status}, {self.seconds:.0f} s)\n{self.output}"


@dataclass
class GuestRun:
    """A finished boot: the exchange folder, each command's result, the console log and
    the wall time of boot, commands and power-off together."""
    exchange: Path
    results: list = field(default_factory=list)
    console: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Guest:
    """One VM of run_in_guests: its commands (argv lists), its exchange folder, and its end of
    a point-to-point Ethernet link to the other VM (`nic`, from udp_link), if any."""
    commands: list
    exchange: Path
    nic: tuple = None
    memory_mb: int = GUEST_MEMORY_MB
    cpus: int = GUEST_CPUS


def run_in_guest(image, commands, exchange, timeout=BOOT_TIMEOUT, idle=False):
    """Boot image, run commands (argv lists, run from the project folder in the guest, one
    after another, whatever their exit status) and power off.

    exchange is a new or empty host folder; the commands can write under /mnt/exchange in
    the guest, which is that folder. Returns a GuestRun. Raises GuestError if the guest did
    not run every command within timeout seconds (the guest is then killed). idle: qemu
    runs only on the CPU time nothing else of this machine wants (SCHED_IDLE: any other
    process that wakes up takes its core at once)."""
    [run] = run_in_guests(image, [Guest(commands, Path(exchange))], timeout, idle)
    return run


def run_in_guests(image, guests, timeout=BOOT_TIMEOUT, idle=False):
    """Boot one VM per Guest at once, each running its commands as run_in_guest does, and
    wait for all of them; return their GuestRuns in order. The first VM drives: another one
    waits in its own commands for the first one's last command (a server waiting for its
    client), and has FOLLOWER_GRACE seconds to power off after the first did. Raises
    GuestError if one did not (all are then killed), or if the first did not run every
    command within timeout seconds. idle: as in run_in_guest."""
    started = time.monotonic()
    qemus = []
    try:
        for guest in guests:
            guest.exchange.mkdir(parents=True, exist_ok=True)
            _write_commands(guest.exchange, guest.commands)
            qemus.append(subprocess.Popen(
                _qemu_argv(image, guest.exchange, guest.exchange / "console.log", guest.nic, guest.memory_mb,
                           guest.cpus),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                preexec_fn=functools.partial(_start_qemu, idle)))
        errors = []
        for index, (qemu, guest) in enumerate(zip(qemus, guests)):
            left = timeout - (time.monotonic() - started)
            try:
                errors.append(qemu.communicate(timeout=max(0.0, left if index == 0 else min(left, FOLLOWER_GRACE)))[1])
            except subprocess.TimeoutExpired:
                within = f"within {timeout} s" if index == 0 or left <= FOLLOWER_GRACE else \
                    f"within {FOLLOWER_GRACE} s of the first VM"
                raise GuestError(f"test VM {index + 1} did not finish {within} and was killed"
                                 + _console_tail(guest.exchange / "console.log")) from None
    finally:
        for qemu in qemus:
            if qemu.poll() is None:
                qemu.kill()
                qemu.wait()
    seconds = time.monotonic() - started
    return [_results(guest, qemu.returncode, error, seconds) for qemu, guest, error in zip(qemus, guests, errors)]


def _results(guest, returncode, stderr, seconds):
    """Return the GuestRun of a VM that powered off: each command's result, read from its
    exchange folder; raise GuestError if qemu failed or a command never ran."""
    console = guest.exchange / "console.log"
    run = GuestRun(guest.exchange, console=console.read_text(errors="replace") if console.exists() else "",
                   seconds=seconds)
    if returncode:
        raise GuestError(f"qemu failed (exit {returncode}): {stderr.strip()}" + _console_tail(console))
    for index, argv in enumerate(guest.commands):
        status = guest.exchange / f"{index}.status"
        if not status.exists():
            raise GuestError(f"the test VM stopped before it ran `{shlex.join(argv)}`" + _console_tail(console))
        started_at, exit_status, ended_at = status.read_text().split()
        run.results.append(CommandResult(list(argv), int(exit_status),
                                         (guest.exchange / f"{index}.out").read_text(errors="replace"),
                                         float(ended_at) - float(started_at)))
    return run


def udp_link(macs=("52:54:00:00:00:01", "52:54:00:00:00:02")):
    """Return the two ends (nic of Guest) of an Ethernet link between two VMs: qemu sends
    each one's frames to the other over UDP on the loopback, so neither waits for the other
    to start (as a listen/connect socket pair would) and nothing else can join it."""
    with contextlib.ExitStack() as held:       # (both ports held until both are chosen: they differ)
        ports = []
        for _ in macs:
            free = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            free.bind(("127.0.0.1", 0))
            ports.append(free.getsockname()[1])
    return (ports[0], ports[1], macs[0]), (ports[1], ports[0], macs[1])


def _write_commands(exchange, commands):
    """Write commands.sh, which the guest runs: each command's output goes to N.out in the
    exchange folder, and its start time, exit status and end time to N.status."""
    lines = ["# written by kernel_vm.guest; run by the guest's init from the project folder"]
    for index, argv in enumerate(commands):
        lines.append(f"started=$(date +%s.%N); {shlex.join(argv)} > /mnt/exchange/{index}.out 2>&1; "
                     f"status=$?; echo $started $status $(date +%s.%N) > /mnt/exchange/{index}.status")
    (exchange / "commands.sh").write_text("\n".join(lines) + "\n")
    (exchange / "commands.json").write_text(json.dumps([list(argv) for argv in commands]))


def _qemu_argv(image, exchange, console, nic=None, memory_mb=GUEST_MEMORY_MB, cpus=GUEST_CPUS):
    """Return qemu's command line: TCG, no network but `nic` (local UDP port, peer's UDP
    port, MAC: see udp_link), the image in snapshot mode, the checkout and the exchange
    folder shared over 9p, the serial console into a file."""
    share = "local,security_model=none,id={tag},path={path},mount_tag={tag}"
    if nic:
        local, remote, mac = nic
        network = ["-netdev", f"socket,id=link,udp=127.0.0.1:{remote},localaddr=127.0.0.1:{local}",
                   "-device", f"virtio-net-pci,netdev=link,mac={mac}"]
    else:
        network = ["-nic", "none"]
    return [
        "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", str(memory_mb), "-smp", str(cpus),
        "-display", "none", "-no-reboot", *network,
        "-serial", f"file:{console}", "-monitor", "none",
        "-kernel", str(image.kernel), "-initrd", str(image.initrd),
        "-drive", f"file={image.disk},format=raw,if=virtio,snapshot=on",
        "-append", f"root=/dev/vda rw console=ttyS0 panic=-1 init={GUEST_INIT}",
        "-virtfs", share.format(tag="source", path=ROOT) + ",readonly=on",
        "-virtfs", share.format(tag="exchange", path=exchange),
    ]


def _start_qemu(idle):
    """In the qemu child: be killed when the thread that started it ends (so that a killed
    test run never leaves a VM behind); with `idle`, take the SCHED_IDLE policy."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if idle:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _console_tail(console, lines=40):
    """Return the last lines of the guest's console log, for an error message."""
    if not console.exists():
        return "\n(no console output)"
    tail = console.read_text(errors="replace").strip().splitlines()[-lines:]
    return f"\nlast {len(tail)} lines of the guest console ({console}):\n" + "\n".join(tail)
