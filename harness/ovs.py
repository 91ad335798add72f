"""What the harness knows of Open vSwitch itself: the datapath types, the mark on the bridges
it creates, which bridges exist and whose they are, whether ovs-vswitchd has read every
frame its ports received, and how to ask a daemon something without waiting for its answer."""
import json
import os
import re
import select
import socket
import time
from pathlib import Path
from typing import Callable, NamedTuple, Optional

from .errors import HarnessError
from .parsers import parse_dpif_show, parse_socket_queues

# What ovs-ofctl says when ovs-vswitchd closed its connection before the OpenFlow hello was
# done: the switch gives a new connection 1 s for it (lib/rconn.c, timeout_CONNECTING). On a
# starved VM, among a snapshot's dumps at once, one missed it in two suite runs; a command that
# reads, or changes nothing, when it fails so is run once more, alone (CommandRunner.run_each).
DROPPED_BY_THE_SWITCH = re.compile(r"^ovs-ofctl: .*\((Broken pipe|Connection reset by peer)\)$", re.MULTILINE)

RUN_ID_KEY = "ovs-harness-run"      # external_ids key on every bridge we create
# and on a bridge a run on several servers creates: the machine that drove the run
# (harness.cluster.this_machine), so that `clean --cluster` there can tell its own runs'.
DRIVER_KEY = "ovs-harness-driver"
DATAPATH_TYPES = {"kernel": "system", "user": "netdev"}
VSWITCHD_PIDFILE = "/var/run/openvswitch/ovs-vswitchd.pid"     # Debian's openvswitch-switch
# OFPP_MAX, the first port number no port can have, in OpenFlow 1.1's 32-bit form (which
# ovs-ofctl reads without a warning, and sends to an OpenFlow 1.0 switch as 0xff00). OVS
# refuses a flow that outputs there (OFPBAC_BAD_OUT_PORT), so no flow ever does.
NO_PORT = 0xffffff00
WAKE_EVERY = 0.01       # seconds: see fresh_revalidator_pass


class Vswitchd(NamedTuple):
    """An ovs-vswitchd with bridges of a run, and how the harness reaches it."""
    ofctl: Callable             # ofctl(command, *args): the argv of ovs-ofctl on one of the run's bridges on it
    appctl: Callable            # appctl(*args): the argv of ovs-appctl for it, where it runs
    pidfile: Optional[str]      # its pid file; None on another server (whose /proc is not this machine's)
    control: Optional[str]      # its unixctl socket; None on another server


def existing_bridges(tools, where=lambda argv: argv):
    """Return {bridge name: the run id that created it, or None if ovs-harness did not}, of
    the Open vSwitch `where(argv)` runs argv on (here by default; see harness.cluster)."""
    return {name: ids.get(RUN_ID_KEY) for name, ids in bridge_ids(tools, where).items()}


def bridge_ids(tools, where=lambda argv: argv):
    """Return {bridge name: its external_ids}, as existing_bridges."""
    listing = json.loads(tools.run(where(["ovs-vsctl", "--format=json", "--columns=name,external_ids",
                                          "list", "Bridge"])))
    return {name: dict(external_ids[1]) for name, external_ids in listing["data"]}


def open_datapaths(dpif_show):
    """Return {datapath kind ("kernel", "user", or another type as OVS names it): [its
    bridges]} of the datapaths an ovs-vswitchd has open, from its `ovs-appctl dpif/show`."""
    kinds = {datapath_type: kind for kind, datapath_type in DATAPATH_TYPES.items()}
    return {kinds.get(datapath_type, datapath_type): bridges
            for datapath_type, bridges in parse_dpif_show(dpif_show).items()}


def unread_bytes(pidfile):
    """The bytes waiting in the receive queues of the ovs-vswitchd whose pid file is
    `pidfile`: frames its ports received that it has not read yet. The userspace datapath
    reads a port's frames from a packet socket; the kernel datapath queues a frame that
    missed its flows on a netlink socket, for a handler thread. Read from /proc, as `ss`
    does: the daemon's sockets (/proc/PID/fd) in the tables of its network namespace."""
    try:
        pid = Path(pidfile).read_text().strip()
        sockets = set()
        for fd in os.scandir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(fd.path)
            except FileNotFoundError:       # closed since it was listed
                continue
            if target.startswith("socket:["):
                sockets.add(int(target[len("socket:["):-1]))
        tables = [Path(f"/proc/{pid}/net/{table}").read_text() for table in ("packet", "netlink")]
    except OSError as problem:
        raise HarnessError(f"cannot read the sockets of ovs-vswitchd ({pidfile}): is it running? "
                           f"{problem.strerror}: {problem.filename}") from None
    return sum(row["unread"] for table in tables for row in parse_socket_queues(table) if row["inode"] in sockets)


def control_socket(pidfile):
    """The unixctl socket of the daemon whose pid file is `pidfile`, where ovs-appctl finds
    it: <program>.<pid>.ctl beside the pid file."""
    path = Path(pidfile)
    try:
        return str(path.with_name(f"{path.stem}.{path.read_text().strip()}.ctl"))
    except OSError as problem:
        raise HarnessError(f"cannot read the pid file of {path.stem} ({pidfile}): is it running? "
                           f"{problem.strerror}") from None


class UnixctlRequest:
    """A command sent to a daemon's unixctl socket at once, whose answer is read later:
    ovs-appctl's request (JSON-RPC 1.0, one object each way) without its waiting, so that
    the harness can do something between the two that the answer depends on. (Not the `ovs`
    package's jsonrpc: it imports eventlet when it can, 0.2 s.)"""

    def __init__(self, path, command, *args, timeout=30):
        self.path, self.command, self.timeout = path, command, timeout
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(timeout)
        try:
            self._socket.connect(path)
            # Once sent, the request is in the daemon's socket: it is read at the daemon's
            # next pass through its unixctl connections, before anything asked of it later.
            self._socket.sendall(json.dumps({"id": 0, "method": command, "params": list(args)}).encode())
        except OSError as problem:
            self._socket.close()
            raise HarnessError(f"cannot ask {path} for {command}: {problem.strerror or problem}") from None

    def answer(self, wake_every=None):
        """Wait for the daemon's answer and return it; raise HarnessError if it refused.
        wake_every: seconds after which, and after every such time without an answer, the
        daemon's main loop is made to run once more (by asking for its version), for an
        answer it has but sends only from its main loop (see fresh_revalidator_pass)."""
        received, decoder = b"", json.JSONDecoder()
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError(f"{self.path} did not answer {self.command} in {self.timeout:.3g} s")
                if wake_every and not select.select([self._socket], [], [], min(wake_every, left))[0]:
                    UnixctlRequest(self.path, "version", timeout=left).answer()
                    continue
                self._socket.settimeout(left)
                chunk = self._socket.recv(65536)
                if not chunk:
                    raise HarnessError(f"{self.path} closed the connection before answering {self.command}")
                received += chunk
                try:
                    reply, _end = decoder.raw_decode(received.decode())
                    break
                except ValueError:      # not all of it yet
                    continue
        except socket.timeout:
            raise HarnessError(f"{self.path} did not answer {self.command} in {self.timeout:.3g} s") from None
        finally:
            self._socket.close()
        if reply.get("error") is not None:
            raise HarnessError(f"`ovs-appctl -t {self.path} {self.command}` failed: {str(reply['error']).strip()}")
        return reply.get("result") or ""

    def close(self):
        """Forget the request (the daemon drops the connection after answering)."""
        self._socket.close()


def fresh_revalidator_pass(tools, daemons):
    """Wait for a revalidator pass, begun after this call, of each of `daemons` (Vswitchd of
    this machine), run by `tools`, in its transcript.

    A daemon makes a pass every max-revalidator ms (500 by default), and at once when a flow
    table changes. So the wait is asked for (`revalidator/wait`, answered at the end of the
    next pass), and then one of the run's bridges on the daemon deletes its flows that output
    to NO_PORT, which no flow does: no flow changes, but the table's version does, and a pass
    starts at once. A pass under way when the wait was asked would answer it, and may have
    read a flow's counts before the caller's last packets: so it is all done twice, the
    second time once the first is answered (passes do not overlap).

    The answer is sent from the daemon's main loop (udpif_run), which sleeps until the pass
    ends, unless the pass ended first, in the very turn of the loop that started it: then
    the answer waited for the loop's next reason to wake: 4.8 s, in 6 of 12 waits on a quiet
    daemon, 1 in 20 on this machine's busier one. So while no answer comes, the loop is
    woken every WAKE_EVERY seconds."""
    for _ in range(2):
        requests = []
        try:
            for daemon in daemons:
                requests.append(UnixctlRequest(daemon.control, "revalidator/wait"))
            tools.run_each([(daemon.ofctl("del-flows", f"out_port={NO_PORT}"), None) for daemon in daemons],
                           again_if=DROPPED_BY_THE_SWITCH.search)
            for daemon, request in zip(daemons, requests):
                # In the transcript as a person would ask for it, after the deletion.
                tools.transcript.record("sh", daemon.appctl("revalidator/wait"), request.answer(WAKE_EVERY), 0)
        finally:
            for request in requests:
                request.close()
