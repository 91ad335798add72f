"""The servers of a multi-machine run on Mininet Cluster Edition (`mininet/examples/cluster.py`),
and what each must offer before a run can use it: `doctor --cluster SERVER,...`.

Cluster Edition reaches a server by the IPv4 address its name resolves to (`getent ahostsv4`),
over ssh in batch mode (a key, and the server's host key already known under that address),
and runs every remote command through `sudo`, even as root. Its links between servers are
gretap tunnels (the ip_gre module), and its switches are Open vSwitch bridges on each server.
A server that is this machine is used without ssh, as Cluster Edition's "localhost".
"""
import contextlib
import hashlib
import os
import re
import shlex
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import server_batch
from .cleanup import STATE_DIR, process_record
from .containers import Docker
from .errors import HarnessError
from .interrupts import uninterrupted
from .tools import OnServer, at_once, probe
from .waiting import poll_until

# The user a run logs in as on every server: the harness runs as root, and so do its remote
# commands (Cluster Edition would otherwise log in as the user who ran sudo).
CLUSTER_USER = "root"
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=5")
# Tools a run starts on every server: Mininet's, Open vSwitch's, what the harness's pings,
# captures and checksum settings need, and python3 for its hold of the kernel settings.
# (tc wires a host moved to another server's switch to the tunnel that carries its link.)
SERVER_TOOLS = ("mn", "mnexec", "ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ip", "tc", "ping", "tcpdump", "ethtool",
                "python3")
# Modules a cross-server link and a kernel switch need, and tc's wiring of a moved host (the
# clsact qdisc, the matchall filter, the mirred action).
SERVER_MODULES = ("ip_gre", "openvswitch", "sch_ingress", "cls_matchall", "act_mirred")
# Every node of a run on a server (its shell), every capture there and every command the
# run has running there (the commands it starts at once, a snapshot's dumps or a wave of
# the all-pairs probe's fpings, are one: harness.server_batch) is a session of the run's one
# ssh connection to it, and sshd refuses sessions past its MaxSessions (10 by default): ssh
# then opens connections of its own, which time out on a busy server. A server must allow
# this many, and a run more if its nodes there need more (sessions_needed).
SERVER_SESSIONS = 1000
SSHD_CONFIG = ("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d")
# Captures and transcripts of several servers are put side by side by their timestamps.
CLOCK_TOLERANCE_S = 0.5
# The checks of a server, and other series of commands outside a run, share one ssh connection
# of their process's (a dozen logins cost seconds each under emulation: connection_of_our_own),
# closed when they are done, and by itself PROBE_PERSIST_S after its last command if the
# process was killed. (At 5 s, on VMs starved by a busy machine, the master went away before
# the checks that followed the login had started, and one found no MaxSessions.)
PROBE_PERSIST_S = 30
# A server's other checks are asked at once over that connection (one after the other, they
# took 8 s a server under emulation), fewer than sshd's default MaxSessions (10), which a
# server yet to be told to allow more has (its own check says so).
CHECKS_AT_ONCE = 8
# How long the login and each check may take (ssh's ConnectTimeout bounds reaching the server):
# on VMs starved by a busy machine (the suite's), the login, and `sudo -n true` among the
# checks at once, took over 10 s, tools.probe's time for a command, and in one suite run the
# login took over 30 s.
CHECK_TIMEOUT_S = 120
# Several commands for one server run there in one session (harness.tools.CommandRunner).
BATCH_PROGRAM = Path(server_batch.__file__).read_text()
_SERVER_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class Server:
    """One server of a cluster: the name the user gave, the IPv4 address it resolves to
    (None if it does not), and whether that address is this machine's."""
    name: str
    address: str
    local: bool

    def argv(self, argv, control_path=None, persist=None, stdin=False, where=None, shown=None):
        """The argv that runs `argv` on this server, as root: itself here, else through ssh
        (the remote shell gets the words quoted one by one), over the master connection at
        `control_path` if given (see Cluster.connect); with `persist` (seconds), the first
        command opens that master, which closes itself once idle that long. stdin: the
        command reads what is given to ssh's standard input (else ssh gives it none).
        where, shown: how the transcript shows a remote command (harness.tools.OnServer)."""
        if self.local:
            return list(argv)
        return OnServer(self._ssh(argv, control_path, persist, stdin), self.name, argv,
                        self._ssh(["python3", "-c", BATCH_PROGRAM], control_path, persist, stdin=True),
                        where, shown)

    def _ssh(self, argv, control_path, persist, stdin):
        shared = ["-o", f"ControlPath={control_path}"] if control_path else []
        if persist:
            shared += ["-o", "ControlMaster=auto", "-o", f"ControlPersist={persist}"]
        return ["ssh", *([] if stdin else ["-n"]), *SSH_OPTIONS, *shared, f"{CLUSTER_USER}@{self.address}", "--",
                shlex.join(map(str, argv))]


MACHINE_ID = "/etc/machine-id"


def this_machine():
    """What names this machine on the bridges of the runs it drives: its machine id, or
    its host name where it has none (a machine without systemd may not)."""
    try:
        machine_id = open(MACHINE_ID).read().strip()
    except OSError:
        machine_id = ""
    return machine_id or socket.gethostname()


def parse_servers(text):
    """Return the server names of `--cluster SERVER[,SERVER...]`; raise HarnessError on a bad
    list (empty name, a name that is not a host name or address, a server named twice, or
    fewer than two)."""
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if not _SERVER_NAME.fullmatch(name):
            raise HarnessError(f"--cluster: {name!r} is not a server's host name or address")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise HarnessError(f"--cluster names {', '.join(twice)} more than once")
    if len(names) < 2:
        raise HarnessError("--cluster needs at least two servers (SERVER,SERVER...)")
    return names


def resolve(name, run=probe):
    """Return the Server called `name`: its address as Cluster Edition finds it, and whether
    it is this machine (an address this machine can bind to)."""
    status, output, _ = run(["getent", "ahostsv4", name])
    addresses = re.findall(r"^(\d+\.\d+\.\d+\.\d+)\s", output, re.MULTILINE) if status == 0 else []
    if not addresses:
        return Server(name, None, False)
    return Server(name, addresses[0], _is_this_machine(addresses[0]))


def _is_this_machine(address):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        try:
            probe_socket.bind((address, 0))
        except OSError:
            return False
    return True


def _first_line(text):
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _version_of(output):
    """The version at the end of the first line `ovs-vsctl --version` or `mn --version` printed."""
    return _first_line(output).split()[-1] if output.strip() else None


def sessions_needed(nodes):
    """The ssh sessions a run with `nodes` nodes on a server may have open there at once, at
    least SERVER_SESSIONS: each node's shell and a capture at each, and room for its commands
    at once (a snapshot's, or a probe wave's, there share one session)."""
    return max(SERVER_SESSIONS, 2 * nodes + 16)


def server_rows(server, local_versions, run=probe, clock=time.time, nodes=0, docker=True):
    """Return doctor rows (what, found, status, how to fix) for one server, one line each;
    run(argv[, timeout]) -> (status, stdout, stderr) runs a command here (tools.probe; a
    recorded fake in tests);
    nodes: how many nodes of a run would run there (see sessions_needed); docker: with the
    row of its Docker daemon (a warning at most: only container hosts need it)."""
    def what(check):
        return f"{server.name}: {check}"

    if server.address is None:
        return [(what("address"), "does not resolve (getent ahostsv4)", "fail",
                 f"add `ADDRESS {server.name}` to /etc/hosts on this machine")]
    rows = [(what("address"), server.address + (" (this machine)" if server.local else ""), "ok", "")]
    with connection_of_our_own(server) as there:
        return rows + _checked_rows(server, there, local_versions, run, clock, nodes, docker)


def _checked_rows(server, there, local_versions, run, clock, nodes, docker):
    """server_rows' rows after the address, each command run through there(argv)."""
    def what(check):
        return f"{server.name}: {check}"

    def on_server(argv):
        return run(there(argv), CHECK_TIMEOUT_S)

    rows, checks = [], []   # checks: each a function returning its row, asked at once (see CHECKS_AT_ONCE)
    if not server.local:
        # First and alone: the login opens the connection the other checks share.
        status, _out, error = on_server(["true"])
        if status != 0:
            if "Host key verification failed" in error:
                fix = f"ssh-keyscan {server.name} {server.address} >> /root/.ssh/known_hosts"
            elif "Permission denied" in error:
                fix = f"ssh-copy-id root@{server.name} (a key login as root, for batch mode)"
            else:
                fix = f"make sshd on {server.name} reachable at {server.address}"
            return [(what("ssh key login as root"), _first_line(error) or f"exit {status}", "fail", fix)]
        rows = [(what("ssh key login as root"), "works", "ok", "")]
        checks += [partial(_sudo_row, server, on_server),
                   partial(_sessions_row, server, on_server, sessions_needed(nodes))]
    checks += [partial(_tools_row, server, on_server),
               *(partial(_version_row, server, on_server, label, argv, local_versions[key])
                 for label, argv, key in (("Open vSwitch version", ["ovs-vsctl", "--version"], "ovs"),
                                          ("Mininet version", ["mn", "--version"], "mininet"))),
               partial(_running_row, server, on_server),
               *(partial(_module_row, server, on_server, module) for module in SERVER_MODULES)]
    if docker:
        checks.append(partial(_docker_row, server, there, run))
    checks.append(partial(_clock_row, server, on_server, clock))
    return rows + at_once(checks, CHECKS_AT_ONCE)


def _sudo_row(server, on_server):
    status, _out, error = on_server(["sudo", "-n", "true"])
    return (f"{server.name}: sudo", "works" if status == 0 else _first_line(error) or "not installed",
            "ok" if status == 0 else "fail",
            "" if status == 0 else f"apt install sudo on {server.name}: Cluster Edition runs every "
                                   "remote command through it, even as root")


def _tools_row(server, on_server):
    _status, found, _ = on_server(["which", *SERVER_TOOLS])
    missing = [tool for tool in SERVER_TOOLS if not re.search(rf"/{re.escape(tool)}$", found, re.MULTILINE)]
    return (f"{server.name}: tools", "all installed" if not missing else "missing " + ", ".join(missing),
            "ok" if not missing else "fail", "" if not missing else f"run setup.sh on {server.name}")


def _version_row(server, on_server, label, argv, local_version):
    status, output, error = on_server(argv)
    version = _version_of(output or error) if status == 0 else None     # mn prints it on stderr
    same = version is not None and version == local_version
    return (f"{server.name}: {label}", version or _first_line(error) or "not installed", "ok" if same else "fail",
            "" if same else f"install {local_version} on {server.name}, as here (setup.sh)")


def _running_row(server, on_server):
    status, _out, error = on_server(["ovs-vsctl", "--timeout=5", "show"])
    return (f"{server.name}: Open vSwitch running", "yes" if status == 0 else _first_line(error) or "no",
            "ok" if status == 0 else "fail",
            "" if status == 0 else f"start it on {server.name}: /usr/share/openvswitch/scripts/ovs-ctl start")


def _module_row(server, on_server, module):
    status, _out, error = on_server(["modprobe", "--dry-run", module])
    return (f"{server.name}: {module} module", "available" if status == 0 else _first_line(error) or "missing",
            "ok" if status == 0 else "fail",
            "" if status == 0 else f"a kernel with {module} on {server.name} (Debian's has it)")


def _docker_row(server, there, run):
    problem = Docker(there, server.name, lambda argv, timeout: run(argv, CHECK_TIMEOUT_S)).problem()
    return (f"{server.name}: Docker", "answers" if problem is None else problem, "ok" if problem is None else "warn",
            "" if problem is None else "only container hosts need it (a run starts dockerd where it is installed)")


def _clock_row(server, on_server, clock):
    before = clock()
    status, output, error = on_server(["date", "+%s.%N"])
    after = clock()
    if status != 0:
        return (f"{server.name}: clock", _first_line(error) or f"exit {status}", "fail", "`date` must work")
    offset = float(output) - (before + after) / 2
    fine = abs(offset) <= CLOCK_TOLERANCE_S + (after - before) / 2
    return (f"{server.name}: clock", f"{offset:+.2f} s from this machine's", "ok" if fine else "warn",
            "" if fine else f"synchronise {server.name}'s clock (chrony): captures and transcripts "
                            "of several servers are compared by their timestamps")


def _sessions_row(server, on_server, needed):
    """The doctor row of how many sessions `server`'s sshd allows a connection (its first
    MaxSessions, which is the one sshd takes; 10 if none is set), against the `needed`."""
    status, found, error = on_server(["grep", "-rhiE", r"^\s*MaxSessions\s", *SSHD_CONFIG])
    if status > 1:      # (grep: 1 is no such line; ssh says 255)
        return (f"{server.name}: ssh sessions a connection", _first_line(error) or f"exit {status}", "fail",
                f"make `grep -rhiE MaxSessions {' '.join(SSHD_CONFIG)}` work on {server.name}")
    words = found.split()
    sessions = int(words[1]) if len(words) > 1 and words[1].isdigit() else 10
    enough = sessions >= needed
    return (f"{server.name}: ssh sessions a connection", str(sessions), "ok" if enough else "fail",
            "" if enough else f"put `MaxSessions {needed}` in /etc/ssh/sshd_config.d/ovs-harness.conf on "
                              f"{server.name} and reload sshd: a run's nodes there and its commands at once share "
                              "one connection")


def _make_probe_folder():
    """Make the folder of connection_of_our_own's sockets if we can (not as a user: ssh then
    connects once a command, and says so)."""
    with contextlib.suppress(OSError):
        STATE_DIR.mkdir(parents=True, exist_ok=True)


# The paths of the connections of our own open in this process (see connection_of_our_own).
_HELD = set()


@contextlib.contextmanager
def connection_of_our_own(server):
    """Yield there(argv, stdin=False), the argv running argv on `server` (as it is, on this
    machine), on another over one ssh connection of this process's, opened by the first
    command; close it when done, so that nothing of ours is left once the caller says it is
    done (if the process is killed, it closes itself PROBE_PERSIST_S after its last command).
    Inside another's for the same server, the same connection, which the outer one closes."""
    name = hashlib.sha1(server.name.encode()).hexdigest()[:16]     # (a socket's path is short)
    path = str(STATE_DIR / f"ssh-{os.getpid()}-{name}")
    there = partial(server.argv, control_path=path, persist=PROBE_PERSIST_S)
    if path in _HELD:
        yield there
        return
    _HELD.add(path)
    try:
        yield there
    finally:
        _HELD.discard(path)
        if os.path.exists(path):
            probe(["ssh", *SSH_OPTIONS, "-o", f"ControlPath={path}", "-O", "exit", f"{CLUSTER_USER}@{server.address}"])
            poll_until(lambda: not os.path.exists(path), 5)


@contextlib.contextmanager
def connections_held(names):
    """Hold a connection of our own to each of the servers `names` while a series of
    checks and commands that each open one runs (a run's readiness checks, then its Docker's
    preparation): one login a server, not one a series (seconds each under emulation)."""
    with contextlib.ExitStack() as held:
        for server in map(resolve, names):
            if server.address:
                held.enter_context(connection_of_our_own(server))
        yield


def cluster_report(names, local_versions, run=probe, clock=time.time):
    """Return doctor rows for every server of `names` (see server_rows), and one row
    saying which of them is this machine, where the run is driven from."""
    _make_probe_folder()
    servers = [resolve(name, run) for name in names]
    rows = [row for rows in at_once([partial(server_rows, server, local_versions, run, clock) for server in servers],
                                     len(servers)) for row in rows]
    here = [server.name for server in servers if server.local]
    rows.append(("this machine in the cluster", ", ".join(here) if here else
                 "none of them (the run is driven from here; its nodes run on the servers)", "ok", ""))
    return rows


def parse_placement(pins):
    """Return {node: server} from `--place NODE=SERVER` values; raise HarnessError on a bad one."""
    placement = {}
    for pin in pins:
        node, equals, server = pin.partition("=")
        if not equals or not node or not server:
            raise HarnessError(f"--place takes NODE=SERVER, not {pin!r}")
        placement[node] = server
    return placement


def place(topo, servers, pins=None):
    """Return {node: server name} for every node of Mininet Topo `topo` on `servers` (names):
    the switches and OVS nodes (hosts with an Open vSwitch of their own, which carry other
    hosts' links as a switch does) pinned in `pins` ({node: server}) where they are pinned,
    the others spread evenly in order by Cluster Edition's SwitchBinPlacer (reproducible,
    unlike its RandomPlacer), and every other host on its switch's (or OVS node's) server
    unless pinned itself. Raises HarnessError for a pin naming an unknown node or server."""
    from mininet.examples.cluster import SwitchBinPlacer
    pins = pins or {}
    for node, server in pins.items():
        if node not in topo.nodes():
            raise HarnessError(f"--place {node}={server}: the topology has no node {node} "
                               f"(nodes: {', '.join(topo.nodes())})")
        if server not in servers:
            raise HarnessError(f"--place {node}={server}: {server} is not one of --cluster's servers "
                               f"({', '.join(servers)})")
    bridging = topo.switches() + [host for host in topo.hosts() if topo.nodeInfo(host).get("ovs_node")]
    placement = SwitchBinPlacer.bin([node for node in bridging if node not in pins], servers)
    placement.update({node: server for node, server in pins.items() if node in bridging})
    for link in topo.links():
        for host, switch in (link, link[::-1]):
            if host not in bridging and switch in bridging:
                placement[host] = pins.get(host, placement[switch])
    for host in topo.hosts():
        if host not in placement:
            placement[host] = pins.get(host) or servers[0]
    return placement


def require_ready(servers, local_versions, run=probe, placement=None):
    """Raise HarnessError with the first problem `doctor --cluster` would report for
    `servers` (names), each asked for the sessions its nodes of `placement` ({node: server
    name}) need; return their Servers."""
    _make_probe_folder()
    resolved = [resolve(name, run) for name in servers]
    nodes = Counter((placement or {}).values())
    # (Docker's row can only warn: a run with container hosts makes sure of it, see harness.containers.)
    checked = at_once([partial(server_rows, server, local_versions, run, nodes=nodes[server.name], docker=False)
                        for server in resolved], len(resolved))
    for rows in checked:
        for what, found, status, fix in rows:
            if status == "fail":
                raise HarnessError(f"--cluster: {what}: {found}; {fix} (see `python -m harness doctor "
                                   f"--cluster {','.join(servers)}`)")
    return resolved


class Cluster:
    """The servers of one run and where each node of its topology runs; the ssh connection
    every command to a server shares (one master per remote server, started by `connect`
    and recorded in the run's state, stopped by `disconnect`)."""

    def __init__(self, servers, placement, run_id, control_dir):
        self.servers = {server.name: server for server in servers}
        self.placement = placement
        self.run_id = run_id
        self.control_dir = control_dir
        self.masters = {}
        self.controller_ports = {}      # server name -> port forwarded there to the controller app

    def server_of(self, node):
        return self.servers[self.placement[node]]

    def remote(self):
        """The remote Servers, in the order given."""
        return [server for server in self.servers.values() if not server.local]

    def control_path(self, server):
        return str(self.control_dir / f"{self.run_id}.ssh-{server.name}")

    def argv(self, server, argv, stdin=False):
        """The argv that runs `argv` on `server`, over its shared connection (stdin: see Server.argv)."""
        return server.argv(argv, self.control_path(server), stdin=stdin)

    def on(self, node, argv):
        """The argv that runs `argv` in the root namespace of the server `node` runs on."""
        return self.argv(self.server_of(node), argv)

    def mininet_server(self, node):
        """(server, server address) as Cluster Edition's nodes take them: "localhost" for
        this machine."""
        server = self.server_of(node)
        return ("localhost", None) if server.local else (server.name, server.address)

    def connect(self, state):
        """Open one ssh master connection per remote server, recorded in `state` (a
        RunState) as it starts, so that `clean` can stop it after a kill."""
        for server in self.remote():
            path = self.control_path(server)
            with uninterrupted():
                master = subprocess.Popen(["ssh", "-N", *SSH_OPTIONS, "-o", "ControlMaster=yes",
                                           "-o", f"ControlPath={path}", f"{CLUSTER_USER}@{server.address}"],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True, start_new_session=True)
                self.masters[server.name] = master
                state.update(ssh_masters=[process_record(each.pid) for each in self.masters.values()])
            if not poll_until(lambda: os.path.exists(path) or master.poll() is not None, 30) or master.poll() is not None:
                raise HarnessError(f"--cluster: no ssh connection to {server.name} ({server.address}): "
                                   f"{_first_line(master.stderr.read() if master.poll() is not None else '') or 'timed out'}")

    def reach_controller(self, port, tools):
        """Let the switches of every remote server reach the controller app listening on
        this machine's 127.0.0.1:`port`: a remote forward on each server's master connection
        (`ssh -O forward -R`, a port the server picks on its own loopback), so the OpenFlow
        port is never open beyond this machine. Returns {server name: its port}."""
        for server in self.remote():
            said = tools.run(["ssh", *SSH_OPTIONS, "-o", f"ControlPath={self.control_path(server)}",
                              "-O", "forward", "-R", f"127.0.0.1:0:127.0.0.1:{port}",
                              f"{CLUSTER_USER}@{server.address}"]).split()
            if not said or not said[0].isdigit():
                raise HarnessError(f"--cluster: {server.name} gave no port to forward to the controller app")
            self.controller_ports[server.name] = int(said[0])
        return dict(self.controller_ports)

    def controller_target(self, node, target):
        """The OpenFlow target, `target` here, as switch `node` reaches it from its server."""
        server = self.server_of(node)
        return target if server.local else f"tcp:127.0.0.1:{self.controller_ports[server.name]}"

    def disconnect(self):
        """Close the master connections (a command still using one is cut), and remove their
        sockets (a master ended by a signal leaves its socket behind)."""
        for name, master in self.masters.items():
            if master.poll() is None:
                master.terminate()
            master.wait()
            Path(self.control_path(self.servers[name])).unlink(missing_ok=True)
        self.masters.clear()

    def metadata(self):
        return {"servers": {name: {"address": server.address, "this_machine": server.local}
                            for name, server in self.servers.items()},
                "placement": dict(self.placement), "link": "RemoteGRELink (gretap)"}
