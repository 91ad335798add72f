"""What the harness knows of Open vSwitch itself: the datapath types, the mark on the bridges
it creates, which bridges exist and whose they are, and whether ovs-vswitchd has read every
frame its ports received."""
import json
import os
from pathlib import Path

from .errors import HarnessError
from .parsers import parse_socket_queues

RUN_ID_KEY = "ovs-harness-run"      # external_ids key on every bridge we create
# and on a bridge a run on several servers creates: the machine that drove the run
# (harness.cluster.this_machine), so that `clean --cluster` there can tell its own runs'.
DRIVER_KEY = "ovs-harness-driver"
DATAPATH_TYPES = {"kernel": "system", "user": "netdev"}
VSWITCHD_PIDFILE = "/var/run/openvswitch/ovs-vswitchd.pid"     # Debian's openvswitch-switch


def existing_bridges(tools, where=lambda argv: argv):
    """Return {bridge name: the run id that created it, or None if ovs-harness did not}, of
    the Open vSwitch `where(argv)` runs argv on (here by default; see harness.cluster)."""
    return {name: ids.get(RUN_ID_KEY) for name, ids in bridge_ids(tools, where).items()}


def bridge_ids(tools, where=lambda argv: argv):
    """Return {bridge name: its external_ids}, as existing_bridges."""
    listing = json.loads(tools.run(where(["ovs-vsctl", "--format=json", "--columns=name,external_ids",
                                          "list", "Bridge"])))
    return {name: dict(external_ids[1]) for name, external_ids in listing["data"]}


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
