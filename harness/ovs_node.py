"""An Open vSwitch of a node's own: a host namespace (a compute node, a network node) running
its own `ovsdb-server` and `ovs-vswitchd`, with its own database, pid files, unixctl sockets
and run directory, as each server of a cloud has.

Why not bridges of the machine's one ovs-vswitchd: a tunnel between two bridges of the same
ovs-vswitchd does not carry a packet (measured here: 0/3 pings over userspace GRE, the
remote endpoint resolving as local); with one ovs-vswitchd per node namespace, joined by a
veth underlay, GRE carried ping 3/3 with `tnl_push` in the datapath flows.

The daemons run in the node's namespace (so their devices, the bridges' internal ports and
tunnel devices, are the node's), are driven from the root namespace through their sockets
(ovs-vsctl --db, ovs-ofctl unix:<dir>/<bridge>.mgmt, ovs-appctl -t), and log into the run
folder. The state file names the node's directory before anything is created, then the
daemons' pids: `clean` kills them (pid and start time) and removes the directory; being in
one of the run's host namespaces, they are also killed with its other processes.
"""
from .cleanup import (STATE_DIR, driver_mark, is_running, is_running_there, process_record, record_there,
                      remove_ovs_node)
from .errors import HarnessError
from .evidence import SwitchLog
from .files import write_text
from .tools import probe
from .waiting import poll_until

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DAEMONS = ("ovsdb-server", "ovs-vswitchd")
EXIT_TIMEOUT = 5.0      # seconds a daemon asked to exit may take before it is killed


def node_directory(run_id, node):
    """Where node `node` of run `run_id` keeps its database, pid files and sockets."""
    return STATE_DIR / run_id / node


def _here(argv):
    return argv


class OvsNode:
    """The Open vSwitch of one node: `start` it, `stop` it, and build the argument lists of
    its tools (`vsctl`, `ofctl`, `appctl`), which run in the root namespace of the node's
    server."""

    def __init__(self, host, run_id, tools, state, log_dir, server=None, there=None):
        """host: the node's Mininet host; state: the run's RunState; log_dir: the folder
        that receives the daemons' logs (in the run folder). For a node on another server
        (a run on several): `server`, its name, and there(argv), the argv that runs argv in
        that server's root namespace; the daemons then log into the node's directory there,
        and their logs are copied into log_dir when they stop."""
        self.host = host
        self.name = host.name
        self.tools = tools
        self.state = state
        self.server = server
        self.there = there or _here
        self.directory = node_directory(run_id, host.name)
        self.log_dir = log_dir
        self.daemon_logs = log_dir if server is None else self.directory

    def start(self):
        """Create the database and start both daemons in the node's namespace; record them."""
        self._record(daemons=[])
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tools.run(self.there(["mkdir", "-p", "--", str(self.directory)]))
        if self.server is not None:
            # Whose run this is, for `clean --cluster` on the machine that drove it if it
            # lost the run's state (see cleanup.remove_lost_ovs_nodes).
            self.tools.run(self.there(["touch", "--", str(driver_mark(self.directory))]))
        database = self.directory / "conf.db"
        self.tools.run(self.there(["ovsdb-tool", "create", str(database), SCHEMA]))
        self.tools.run(["ovsdb-server", database, f"--remote=punix:{self.directory}/db.sock",
                        *self._daemon_options("ovsdb-server")], host=self.host)
        self.tools.run(self.vsctl("--no-wait", "init"))
        # OVS_RUNDIR: where ovs-vswitchd makes each bridge's <bridge>.mgmt socket.
        self.tools.run(["env", f"OVS_RUNDIR={self.directory}", "ovs-vswitchd", f"unix:{self.directory}/db.sock",
                        *self._daemon_options("ovs-vswitchd")], host=self.host)
        pids = self.tools.run(self.there(["cat", *(self.pidfile(daemon) for daemon in DAEMONS)])).split()
        self._record(daemons=[process_record(int(pid)) if self.server is None else record_there(self.there, int(pid))
                              for pid in pids])

    def _record(self, daemons):
        """Write this node's entry, with the records of its `daemons`, into the run's state:
        under "ovs_nodes", or for a node on another server, under that server's entry."""
        state = self.state.read()
        entry = {"node": self.name, "directory": str(self.directory), "daemons": daemons}
        owner = self._holder(state)
        owner["ovs_nodes"] = [each for each in owner.get("ovs_nodes", []) if each["node"] != self.name] + [entry]
        self.state.update(**({"ovs_nodes": owner["ovs_nodes"]} if self.server is None else
                             {"servers": state["servers"]}))

    def _holder(self, state):
        """The part of the run's state that lists this node: the state itself, or for a node
        on another server, that server's entry."""
        return state if self.server is None else state["servers"][self.server]

    def _running(self, record):
        return is_running(record) if self.server is None else is_running_there(self.there, record)

    def _daemon_options(self, daemon):
        return [f"--pidfile={self.pidfile(daemon)}", f"--unixctl={self.control_socket(daemon)}",
                f"--log-file={self.daemon_logs}/{daemon}.log", "--detach", "--no-chdir"]

    def pidfile(self, daemon="ovs-vswitchd"):
        """The pid file of the node's `daemon`, on the node's server."""
        return f"{self.directory}/{daemon}.pid"

    def control_socket(self, daemon="ovs-vswitchd"):
        """The unixctl socket of the node's `daemon`, on the node's server."""
        return f"{self.directory}/{daemon}.ctl"

    def switch_log(self):
        """The SwitchLog of this node's ovs-vswitchd: its whole log, where it writes it."""
        return SwitchLog(self.daemon_logs / "ovs-vswitchd.log", whole=True,
                         there=None if self.server is None else self.there)

    def vsctl(self, *args):
        """The argv of ovs-vsctl on this node's database."""
        return self.there(["ovs-vsctl", f"--db=unix:{self.directory}/db.sock", *args])

    def ofctl(self, command, bridge, *args):
        """The argv of `ovs-ofctl command` on this node's bridge `bridge`."""
        return self.there(["ovs-ofctl", command, f"unix:{self.directory}/{bridge}.mgmt", *args])

    def appctl(self, *args, daemon="ovs-vswitchd"):
        """The argv of ovs-appctl talking to this node's `daemon` (its ovs-vswitchd by default)."""
        return self.there(["ovs-appctl", "-t", self.control_socket(daemon), *args])

    def stop(self):
        """Stop both daemons (ovs-vswitchd first, removing its datapath), keep their logs in
        the run folder if they wrote them on another server, and remove the node's
        directory. Raises HarnessError if a daemon would not stop."""
        for daemon in reversed(DAEMONS):
            self.tools.run(self.appctl("exit", *(["--cleanup"] if daemon == "ovs-vswitchd" else []), daemon=daemon),
                           check=False)
        owner = self._holder(self.state.read())
        entry = next((each for each in owner.get("ovs_nodes", []) if each["node"] == self.name), {})
        daemons = entry.get("daemons", [])
        poll_until(lambda: not any(self._running(record) for record in daemons), EXIT_TIMEOUT)
        running = [record for record in daemons if self._running(record)]
        if self.server is not None:
            for daemon in DAEMONS:
                status, log, _ = probe(self.there(["cat", f"{self.directory}/{daemon}.log"]))
                if status == 0:
                    write_text(self.log_dir / f"{daemon}.log", log)
        remove_ovs_node({"directory": str(self.directory), "daemons": running, "server": self.server},
                        None if self.server is None else self.there, self.tools)
        if running:
            raise HarnessError(f"the Open vSwitch of {self.name} did not exit when asked: killed")
