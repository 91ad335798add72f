"""What a run leaves on the machine, and removing it.

Before a run creates anything it writes a state file naming what it will create (bridges,
root-namespace interfaces, then the pids of the host shells). Bridges also carry the run id
in their OVSDB external_ids. `clean` removes what a dead run's state file names, and any
bridge whose marker names a run that is not alive, and nothing else: bridges, interfaces and
files that are not ours are never touched (unlike `mn -c`).
"""
import fcntl
import json
import os
import signal
from contextlib import contextmanager
from pathlib import Path

from .errors import HarnessError
from .files import write_json
from .network import existing_bridges
from .waiting import poll_until

STATE_DIR = Path("/run/ovs-harness")


def is_alive_harness(pid):
    """Return True if pid is a running ovs-harness process."""
    try:
        return b"harness" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@contextmanager
def _state_lock():
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with open(STATE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _states():
    """Return every run state file's content, with its path under "path"."""
    states = []
    for path in sorted(STATE_DIR.glob("*.json")):
        try:
            states.append({**json.loads(path.read_text()), "path": str(path)})
        except (OSError, ValueError):
            continue
    return states


class RunState:
    """The state file of one run: what it is about to create, so `clean` can find it."""

    def __init__(self, run_id, experiment):
        self.run_id = run_id
        self.experiment = experiment
        self.path = STATE_DIR / f"{run_id}.json"

    def create(self, wait=False, say=print):
        """Claim the machine for this run. If another run is alive, raise HarnessError naming
        it, or with `wait`, say so and wait until it has finished."""
        busy = self._claim()
        if busy and not wait:
            raise HarnessError(f"run {busy['run_id']} of {busy['experiment']} is in progress "
                               f"(pid {busy['pid']}): wait for it to finish, or use --wait")
        if busy:
            say(f"waiting for run {busy['run_id']} of {busy['experiment']} (pid {busy['pid']}) to finish")
            poll_until(lambda: self._claim() is None, timeout=float("inf"))

    def _claim(self):
        """Write our state file unless another run is alive; return that run's state, or None."""
        with _state_lock():
            for other in _states():
                if is_alive_harness(other.get("pid")):
                    return other
            write_json(self.path, {"run_id": self.run_id, "experiment": self.experiment,
                                    "pid": os.getpid(), "bridges": [], "interfaces": [],
                                    "host_namespaces": []})
            return None

    def update(self, **fields):
        write_json(self.path, {**self.read(), **fields})

    def read(self):
        return json.loads(self.path.read_text())

    def remove(self):
        self.path.unlink(missing_ok=True)


def _kill_host_processes(namespaces):
    """Kill every process in the given host namespaces; return one line per process.

    namespaces: [{"inode": ..., "interfaces": [...]}]. A process counts only if its network
    namespace has the recorded inode *and* holds the host's interfaces, so an inode reused by
    a namespace that is not ours can never match. A command still running on a host (a long
    ping, say) would otherwise keep the namespace, and with it the veth, alive."""
    ours = {entry["inode"]: entry["interfaces"] for entry in namespaces}
    killed = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            interfaces = ours.get(os.stat(proc / "ns/net").st_ino)
            devices = (proc / "net/dev").read_text() if interfaces else ""
            if interfaces and all(f"{name}:" in devices for name in interfaces if name != "lo"):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(f"process {proc.name} ({command})")
        except (OSError, ValueError):
            continue
    return killed


def _kill_controller(pid):
    """Kill the run's controller app and its process group if it is still running."""
    try:
        if pid and b"controllers.launch" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.killpg(pid, signal.SIGKILL)
            return [f"controller process {pid}"]
    except OSError:
        pass
    return []


def _restore_sysctls(previous):
    """Put back the kernel settings a run raised ({/proc/sys path: value}); return one line each."""
    restored = []
    for path, value in previous.items():
        Path(path).write_text(str(value))
        restored.append(f"{path.removeprefix('/proc/sys/').replace('/', '.')} back to {value}")
    return restored


def remove_run_leftovers(state, tools):
    """Remove what the run described by `state` created and still exists.

    Returns one line per thing removed. Processes and veths go first, as they need no Open
    vSwitch; if OVS does not answer, the run's bridges stay and HarnessError says so."""
    run_id = state["run_id"]
    removed = _kill_host_processes(state.get("host_namespaces", []))
    removed += _kill_controller(state.get("controller_pid"))
    removed += _restore_sysctls(state.get("sysctls", {}))
    try:
        bridges = existing_bridges(tools)
    except HarnessError:
        bridges = None
    for bridge, owner in (bridges or {}).items():
        if owner == run_id:
            tools.run(["ovs-vsctl", "--if-exists", "del-br", bridge])
            removed.append(f"bridge {bridge}")
    remaining = existing_bridges(tools) if bridges is not None else {}
    for name in state.get("interfaces", []):
        # A userspace bridge's internal port outlives the bridge; a veth outlives its host.
        # With OVS down, a bridge's name cannot be told from another bridge's: keep it.
        unknown = bridges is None and name in state.get("bridges", [])
        if not unknown and name not in remaining and Path("/sys/class/net", name).exists():
            tools.run(["ip", "link", "del", name], check=False)
            removed.append(f"interface {name}")
    if bridges is None:
        raise HarnessError(f"Open vSwitch does not answer, so the bridges of run {run_id} are "
                           "still there: start it, then run `python -m harness clean`")
    return removed


def clean(tools):
    """Remove everything that runs which are no longer alive left behind.

    Returns one line per thing removed."""
    removed = []
    with _state_lock():
        live = set()
        for state in _states():
            if is_alive_harness(state.get("pid")):
                live.add(state["run_id"])
                continue
            removed += remove_run_leftovers(state, tools)
            Path(state["path"]).unlink(missing_ok=True)
        for bridge, owner in existing_bridges(tools).items():
            if owner and owner not in live:
                removed += remove_run_leftovers({"run_id": owner, "interfaces": [bridge]}, tools)
    return removed
