"""Boot the test VM under qemu and run commands in it, with the checkout's current source.

The guest sees two host folders over virtio-9p: the checkout (read-only), and an exchange
folder where it finds commands.sh and leaves each command's output, exit status and
results. qemu uses software emulation (TCG), which works where KVM does not; the disk is
opened in snapshot mode, so the cached image never changes.
"""
import ctypes
import json
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .image import GUEST_INIT, ROOT

BOOT_TIMEOUT = 900
GUEST_MEMORY_MB = 2048
GUEST_CPUS = 2
_PR_SET_PDEATHSIG = 1


class GuestError(Exception):
    """The guest failed (did not boot, hung, or never ran the commands); the message ends
    with the tail of its console log."""


@dataclass
class CommandResult:
    """One command run in the guest: its argv, exit status and output (stdout + stderr)."""
    argv: list
    status: int
    output: str

    def __str__(self):
        return f"$ {shlex.join(self.argv)}  (exit {self.status})\n{self.output}"


@dataclass
class GuestRun:
    """A finished boot: the exchange folder, each command's result, the console log and
    the wall time of boot, commands and power-off together."""
    exchange: Path
    results: list = field(default_factory=list)
    console: str = ""
    seconds: float = 0.0


def run_in_guest(image, commands, exchange, timeout=BOOT_TIMEOUT):
    """Boot image, run commands (argv lists, run from the project folder in the guest, one
    after another, whatever their exit status) and power off.

    exchange is a new or empty host folder; the commands can write under /mnt/exchange in
    the guest, which is that folder. Returns a GuestRun. Raises GuestError if the guest did
    not run every command within timeout seconds (the guest is then killed)."""
    exchange = Path(exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    _write_commands(exchange, commands)
    console = exchange / "console.log"
    started = time.monotonic()
    qemu = subprocess.Popen(_qemu_argv(image, exchange, console), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_die_with_parent)
    try:
        _stdout, stderr = qemu.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        qemu.kill()
        qemu.wait()
        raise GuestError(f"the test VM did not finish within {timeout} s and was killed"
                         + _console_tail(console)) from None
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
    run = GuestRun(exchange, console=console.read_text(errors="replace") if console.exists() else "",
                   seconds=time.monotonic() - started)
    if qemu.returncode:
        raise GuestError(f"qemu failed (exit {qemu.returncode}): {stderr.strip()}" + _console_tail(console))
    for index, argv in enumerate(commands):
        status = exchange / f"{index}.status"
        if not status.exists():
            raise GuestError(f"the test VM stopped before it ran `{shlex.join(argv)}`" + _console_tail(console))
        run.results.append(CommandResult(list(argv), int(status.read_text()),
                                         (exchange / f"{index}.out").read_text(errors="replace")))
    return run


def _write_commands(exchange, commands):
    """Write commands.sh, which the guest runs: each command's output and exit status go to
    N.out and N.status in the exchange folder."""
    lines = ["# written by kernel_vm.guest; run by the guest's init from the project folder"]
    for index, argv in enumerate(commands):
        lines.append(f"{shlex.join(argv)} > /mnt/exchange/{index}.out 2>&1; "
                     f"echo $? > /mnt/exchange/{index}.status")
    (exchange / "commands.sh").write_text("\n".join(lines) + "\n")
    (exchange / "commands.json").write_text(json.dumps([list(argv) for argv in commands]))


def _qemu_argv(image, exchange, console):
    """Return qemu's command line: TCG, no network, the image in snapshot mode, the
    checkout and the exchange folder shared over 9p, the serial console into a file."""
    share = "local,security_model=none,id={tag},path={path},mount_tag={tag}"
    return [
        "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", str(GUEST_MEMORY_MB), "-smp", str(GUEST_CPUS),
        "-display", "none", "-no-reboot", "-nic", "none",
        "-serial", f"file:{console}", "-monitor", "none",
        "-kernel", str(image.kernel), "-initrd", str(image.initrd),
        "-drive", f"file={image.disk},format=raw,if=virtio,snapshot=on",
        "-append", f"root=/dev/vda rw console=ttyS0 panic=-1 init={GUEST_INIT}",
        "-virtfs", share.format(tag="source", path=ROOT) + ",readonly=on",
        "-virtfs", share.format(tag="exchange", path=exchange),
    ]


def _die_with_parent():
    """In the qemu child: be killed when the process that started it dies, so that a killed
    test run never leaves a VM behind."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _console_tail(console, lines=40):
    """Return the last lines of the guest's console log, for an error message."""
    if not console.exists():
        return "\n(no console output)"
    tail = console.read_text(errors="replace").strip().splitlines()[-lines:]
    return f"\nlast {len(tail)} lines of the guest console ({console}):\n" + "\n".join(tail)
