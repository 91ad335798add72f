"""What the benchmarks share: timing a command from the checkout, describing the machine."""
import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(argv, check=True):
    """Run argv from the checkout; return (wall-clock seconds, stdout). Raise if it failed,
    unless check is False (a run whose checks failed still has its folder to read)."""
    start = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, check=check, capture_output=True, text=True)
    return time.monotonic() - start, done.stdout


def describe_machine(how):
    """One line naming the machine and the software measured, then `how`."""
    ovs = subprocess.run(["ovs-vsctl", "--version"], capture_output=True, text=True).stdout.split()
    return (f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, OVS {ovs[3] if len(ovs) > 3 else '?'}; {how}")
