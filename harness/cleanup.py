"""What a run leaves on the machine, and removing it.

Before a run creates anything it writes a state file naming what it will create (bridges,
root-namespace interfaces, containers, the controller app's process, then the host shells'
namespaces, the OVS nodes' directories and then their daemons).
What it creates also carries the run's mark, so a name alone never decides: bridges have
the run id in their OVSDB external_ids, every root-namespace interface has the alias
`ovs-harness:<run id>`, containers the label ovs-harness.run=<run id>, processes are known
by pid *and* start time. `clean` removes what
a dead run's state file names and carries its mark, and any bridge whose marker names a run
that is not alive, and nothing else: a bridge, interface or process that is not ours, even
one with the name ours had (a later `mn` making its own s1-eth1), is never touched.
"""
import fcntl
import json
import os
import re
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

from . import kernel_tuning
from .containers import Docker
from .errors import HarnessError
from .files import write_json
from .ovs import DRIVER_KEY, RUN_ID_KEY, bridge_ids, existing_bridges
from .results import RUN_ID
from .tools import probe
from .waiting import poll_until

STATE_DIR = Path("/run/ovs-harness")


def start_time(pid):
    """Return when process `pid` started (clock ticks since boot, /proc/PID/stat field 22),
    or None if there is no such process. With the pid, it names one process for good: a
    pid reused by another process has another start time."""
    try:
        return stat_record(Path(f"/proc/{pid}/stat").read_text())["start"]
    except (OSError, TypeError):
        return None


def stat_record(stat):
    """Return {"pid", "start"} of the process whose /proc/PID/stat line is `stat`."""
    return {"pid": int(stat.split()[0]), "start": int(stat.rpartition(")")[2].split()[19])}  # fields after the name


def process_record(pid):
    """Return {"pid", "start"} naming process `pid`, to keep in a state file."""
    return {"pid": pid, "start": start_time(pid)}


def is_running(record):
    """Return True if the process named by `record` ({"pid", "start"}) still runs."""
    return bool(record) and record.get("start") is not None and start_time(record.get("pid")) == record["start"]


def interface_mark(run_id):
    """The alias every root-namespace interface of run `run_id` carries."""
    return f"ovs-harness:{run_id}"


def carries_mark(name, run_id):
    """Return True if interface `name` exists and carries run `run_id`'s mark."""
    try:
        return Path("/sys/class/net", name, "ifalias").read_text().strip() == interface_mark(run_id)
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
    for path in sorted(STATE_DIR.glob("[!.]*.json")):
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

    def create(self, wait=False, progress=print):
        """Claim the machine for this run. If another run is alive, raise HarnessError naming
        it, or with `wait`, say so and wait until it has finished."""
        busy = self._claim()
        if busy and not wait:
            raise HarnessError(f"run {busy['run_id']} of {busy['experiment']} is in progress "
                               f"(pid {busy['pid']}): wait for it to finish, or use --wait")
        if busy:
            progress(f"waiting for run {busy['run_id']} of {busy['experiment']} (pid {busy['pid']}) to finish")
            poll_until(lambda: self._claim() is None, timeout=float("inf"))

    def _claim(self):
        """Write our state file unless another run is alive; return that run's state, or None."""
        with _state_lock():
            for other in _states():
                if is_running(other.get("process")):
                    return other
            write_json(self.path, {"run_id": self.run_id, "experiment": self.experiment,
                                    "pid": os.getpid(), "process": process_record(os.getpid()),
                                    "bridges": [], "interfaces": [], "host_namespaces": []})
            return None

    def update(self, **fields):
        write_json(self.path, {**self.read(), **fields})

    def read(self):
        return json.loads(self.path.read_text())

    def exists(self):
        return self.path.exists()

    def remove(self):
        self.path.unlink(missing_ok=True)


def kill_host_processes(namespaces):
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


def _kill_process_group(record, what):
    """Kill the process named by `record` and its process group (the controller app and
    the root-namespace tcpdumps lead one) if it still runs."""
    if not is_running(record):
        return []
    try:
        os.killpg(record["pid"], signal.SIGKILL)
    except OSError:
        return []
    return [f"{what} process {record['pid']}"]


def record_there(there, pid):
    """process_record of process `pid` of another server (there(argv): the argv that runs
    argv on it); its start is None if it does not run."""
    status, stat, _ = probe(there(["cat", f"/proc/{pid}/stat"]))
    return stat_record(stat) if status == 0 and stat.strip() else {"pid": pid, "start": None}


def is_running_there(there, record):
    """is_running, of a process of another server (see record_there)."""
    return bool(record) and record.get("start") is not None and record_there(there, record["pid"]) == record


def remove_ovs_node(entry, there=None, tools=None):
    """Kill the daemons of an OVS node's state entry ({"directory", "daemons": [records]},
    see harness.ovs_node) that still run, and remove its directory (only one under
    STATE_DIR, and the run's directory with it once empty); return one line per thing
    removed. On another server: there(argv) is the argv that runs argv on it, and `tools`
    runs that."""
    removed = []
    directory = Path(entry.get("directory") or "/")
    ours = directory.parent.parent == STATE_DIR
    if there is not None:
        where = f" on {entry['server']}"
        for record in entry.get("daemons", []):
            if is_running_there(there, record):
                tools.run(there(["kill", "-KILL", str(record["pid"])]), check=False)
                removed.append(f"OVS node daemon process {record['pid']}{where}")
        if ours and probe(there(["test", "-d", str(directory)]))[0] == 0:
            tools.run(there(["rm", "-rf", "--", str(directory)]))
            removed.append(f"OVS node directory {directory}{where}")
            tools.run(there(["rmdir", "--ignore-fail-on-non-empty", "--", str(directory.parent)]), check=False)
        return removed
    for record in entry.get("daemons", []):
        if is_running(record):
            os.kill(record["pid"], signal.SIGKILL)
            removed.append(f"OVS node daemon process {record['pid']}")
    if ours and directory.is_dir():
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(f"OVS node directory {directory}")
    if ours and directory.parent.is_dir() and not any(directory.parent.iterdir()):
        directory.parent.rmdir()
    return removed


def driver_mark(node_directory):
    """The file in an OVS node's directory on another server (STATE_DIR/<run id>/<node>)
    that names the machine that drove its run."""
    from .cluster import this_machine
    return Path(node_directory) / f"driven-by-{this_machine()}"


def remove_lost_ovs_nodes(server, there, tools, live):
    """On server `server` (there(argv): the argv that runs argv on it), stop the OVS node
    daemons of the runs this machine drove that are not in `live` (run ids), and remove
    their directories: what a run left there when its state file was lost. Returns one line
    per run whose nodes were removed."""
    marks = tools.run(there(["find", str(STATE_DIR), "-mindepth", "3", "-maxdepth", "3", "-type", "f",
                             "-name", driver_mark("").name]), check=False).split()
    removed = []
    for run_directory in sorted({str(Path(mark).parent.parent) for mark in marks}):
        run_id = Path(run_directory).name
        if run_id in live or not RUN_ID.match(run_id):
            continue
        tools.run(there(["pkill", "-KILL", "-f", f"^ovs(db-server|-vswitchd) .*{run_directory}/"]), check=False)
        tools.run(there(["rm", "-rf", "--", run_directory]))
        removed.append(f"OVS nodes of run {run_id} on {server}")
    return removed


def _remove_remote_leftovers(server, entry, run_id, tools):
    """Remove what run `run_id` made on remote `server`, over ssh (its state entry: {"address",
    "control_path", what the run was about to make there: "bridges", "interfaces", the records
    of the tcpdumps it started there, "captures", its containers' names, "containers", and
    "holds_settings" once it was about to hold kernel settings there}, and its OVS nodes there,
    "ovs_nodes"): the containers with its label, the tcpdumps and OVS node daemons still
    running and the nodes' directories, the bridges and interfaces that carry its mark, then
    its hold of the settings. Returns one line per thing removed."""
    from .cluster import Server     # only a run on several servers has remote leftovers
    remote = Server(server, entry["address"], False)
    removed = []

    def there(argv, stdin=False):
        return remote.argv(argv, entry.get("control_path"), stdin=stdin)
    if entry.get("containers"):
        removed += Docker(there, server).remove_containers(entry["containers"], run_id)
    for record in entry.get("captures", []):
        if is_running_there(there, record):
            tools.run(there(["kill", "-KILL", str(record["pid"])]), check=False)
            removed.append(f"tcpdump process {record['pid']} on {server}")
    for node in entry.get("ovs_nodes", []):
        removed += remove_ovs_node({**node, "server": server}, there, tools)
    removed += _remove_runs_on_server(server, there, tools, lambda ids: ids[RUN_ID_KEY] == run_id, {run_id})
    if entry.get("holds_settings"):
        removed += [f"{line} on {server}" for line in kernel_tuning.release_on_server(run_id, there, tools)]
    return removed


def _remove_runs_on_server(server, there, tools, ours, runs=()):
    """On server `server` (its name; there(argv): the argv that runs argv on it), remove every
    marked bridge whose external_ids `ours(ids)` accepts, and every interface carrying the
    mark of one of `runs` or of a run whose bridge was removed; return one line per thing
    removed. Raises HarnessError if the server does not answer."""
    try:
        bridges = bridge_ids(tools, there)
    except HarnessError as problem:
        raise HarnessError(f"{server} does not answer ({problem}), so what runs made there is still "
                           "there: run `python -m harness clean` again when it does") from None
    doomed = {name: ids[RUN_ID_KEY] for name, ids in bridges.items() if ids.get(RUN_ID_KEY) and ours(ids)}
    removed = []
    if doomed:
        tools.run(there(["ovs-vsctl", *(word for bridge in doomed for word in ("--", "--if-exists", "del-br", bridge))]))
        removed += [f"bridge {bridge} on {server}" for bridge in doomed]
    marks = {interface_mark(run) for run in {*runs, *doomed.values()}}
    for name, mark in _marked_interfaces(tools.run(there(["ip", "-o", "link", "show"]))).items():
        if mark in marks and name not in doomed:
            tools.run(there(["ip", "link", "del", name]), check=False)
            removed.append(f"interface {name} on {server}")
    return removed


def _marked_interfaces(listing):
    """{interface: its run mark} of the interfaces in `ip -o link show`'s listing that carry one."""
    found = re.findall(rf"^\d+: ([^\s:@]+)(?:@\S+)?: .* alias ({re.escape(interface_mark(''))}\S+)$",
                       listing, re.MULTILINE)
    return dict(found)


def remove_run_leftovers(state, tools):
    """Remove what the run described by `state` created and still exists.

    Returns one line per thing removed. Processes and veths go first, as they need no Open
    vSwitch; if OVS does not answer, the run's bridges stay and HarnessError says so."""
    run_id = state["run_id"]
    removed = kill_host_processes(state.get("host_namespaces", []))
    if state.get("containers"):
        removed += Docker().remove_containers(state["containers"], run_id)
    removed += _kill_process_group(state.get("controller"), "controller")
    for record in state.get("captures", []):
        removed += _kill_process_group(record, "tcpdump")
    for entry in state.get("ovs_nodes", []):
        removed += remove_ovs_node(entry)
    removed += kernel_tuning.restore(state.get("sysctls", {}))
    for server, entry in state.get("servers", {}).items():
        removed += _remove_remote_leftovers(server, entry, run_id, tools)
    for record in state.get("ssh_masters", []):
        # Their sessions are the remote nodes' shells: they end with them.
        removed += _kill_process_group(record, "ssh connection")
    for entry in state.get("servers", {}).values():
        socket = Path(entry.get("control_path") or "/")
        if socket.parent == STATE_DIR:
            socket.unlink(missing_ok=True)      # its master, killed, could not remove it
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
        # A userspace bridge's internal port outlives the bridge; a veth between two
        # switches outlives the run. Only an interface with our mark is ours to delete.
        if name not in remaining and carries_mark(name, run_id):
            tools.run(["ip", "link", "del", name], check=False)
            removed.append(f"interface {name}")
    if bridges is None:
        raise HarnessError(f"Open vSwitch does not answer, so the bridges of run {run_id} are "
                           "still there: start it, then run `python -m harness clean`")
    return removed


def clean(tools, servers=()):
    """Remove everything that runs which are no longer alive left behind: here, and on the
    servers of runs on several that this machine drove. On `servers` (harness.cluster.Servers)
    too, what runs this machine drove left there when their state file was lost with this
    machine's /run (a reboot): their bridges (which carry this machine's mark), their marked
    interfaces, and their holds of the server's kernel settings.

    Returns one line per thing removed."""
    removed = []
    with _state_lock():
        live = set()
        for state in _states():
            if is_running(state.get("process")):
                live.add(state["run_id"])
                continue
            removed += remove_run_leftovers(state, tools)
            Path(state["path"]).unlink(missing_ok=True)
        for bridge, owner in existing_bridges(tools).items():
            if owner and owner not in live:
                removed += remove_run_leftovers({"run_id": owner, "interfaces": [bridge]}, tools)
        removed += Docker().remove_dead_runs(live)
        if servers:
            from .cluster import connection_of_our_own, this_machine
            driver = this_machine()
            for server in servers:
                if server.local:
                    continue
                # A dozen commands: over one connection (a login costs a second or more under
                # emulation), closed when the sweep is done.
                with connection_of_our_own(server) as there:
                    removed += _remove_runs_on_server(server.name, there, tools,
                                                      lambda ids: ids.get(DRIVER_KEY) == driver
                                                      and ids[RUN_ID_KEY] not in live)
                    removed += [f"{line} on {server.name}"
                                for line in kernel_tuning.sweep_server(driver, live, there, tools)]
                    removed += remove_lost_ovs_nodes(server.name, there, tools, live)
                    removed += Docker(there, server.name).remove_dead_runs(live, driver)
    return removed
