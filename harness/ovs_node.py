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
from .cleanup import STATE_DIR, is_running, process_record, remove_ovs_node
from .errors import HarnessError
from .waiting import poll_until

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
DAEMONS = ("ovsdb-server", "ovs-vswitchd")
EXIT_TIMEOUT = 5.0      # seconds a daemon asked to exit may take before it is killed


def node_directory(run_id, node):
    """Where node `node` of run `run_id` keeps its database, pid files and sockets."""
    return STATE_DIR / run_id / node


class OvsNode:
    """The Open vSwitch of one node: `start` it, `stop` it, and build the argument lists of
    its tools (`vsctl`, `ofctl`, `appctl`), which run in the root namespace."""

    def __init__(self, host, run_id, tools, state, log_dir):
        """host: the node's Mininet host; state: the run's RunState; log_dir: the folder
        that receives the daemons' logs (in the run folder)."""
        self.host = host
        self.name = host.name
        self.tools = tools
        self.state = state
        self.directory = node_directory(run_id, host.name)
        self.log_dir = log_dir

    def start(self):
        """Create the database and start both daemons in the node's namespace; record them."""
        self.state.update(ovs_nodes=self.state.read().get("ovs_nodes", []) +
                          [{"node": self.name, "directory": str(self.directory), "daemons": []}])
        self.directory.mkdir(parents=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        database = self.directory / "conf.db"
        self.tools.run(["ovsdb-tool", "create", database, SCHEMA])
        self.tools.run(["ovsdb-server", database, f"--remote=punix:{self.directory}/db.sock",
                        *self._daemon_options("ovsdb-server")], host=self.host)
        self.tools.run(self.vsctl("--no-wait", "init"))
        # OVS_RUNDIR: where ovs-vswitchd makes each bridge's <bridge>.mgmt socket.
        self.tools.run(["env", f"OVS_RUNDIR={self.directory}", "ovs-vswitchd", f"unix:{self.directory}/db.sock",
                        *self._daemon_options("ovs-vswitchd")], host=self.host)
        records = [process_record(int((self.directory / f"{daemon}.pid").read_text())) for daemon in DAEMONS]
        self.state.update(ovs_nodes=[{**entry, "daemons": records} if entry["node"] == self.name else entry
                                     for entry in self.state.read()["ovs_nodes"]])

    def _daemon_options(self, daemon):
        return [f"--pidfile={self.directory}/{daemon}.pid", f"--unixctl={self.directory}/{daemon}.ctl",
                f"--log-file={self.log_dir}/{daemon}.log", "--detach", "--no-chdir"]

    def log_path(self, daemon="ovs-vswitchd"):
        return self.log_dir / f"{daemon}.log"

    def vsctl(self, *args):
        """The argv of ovs-vsctl on this node's database."""
        return ["ovs-vsctl", f"--db=unix:{self.directory}/db.sock", *args]

    def ofctl(self, command, bridge, *args):
        """The argv of `ovs-ofctl command` on this node's bridge `bridge`."""
        return ["ovs-ofctl", command, f"unix:{self.directory}/{bridge}.mgmt", *args]

    def appctl(self, *args, daemon="ovs-vswitchd"):
        """The argv of ovs-appctl talking to this node's `daemon` (its ovs-vswitchd by default)."""
        return ["ovs-appctl", "-t", f"{self.directory}/{daemon}.ctl", *args]

    def stop(self):
        """Stop both daemons (ovs-vswitchd first, removing its datapath) and remove the
        node's directory. Raises HarnessError if a daemon would not stop."""
        for daemon in reversed(DAEMONS):
            self.tools.run(self.appctl("exit", *(["--cleanup"] if daemon == "ovs-vswitchd" else []), daemon=daemon),
                           check=False)
        entry = next((each for each in self.state.read().get("ovs_nodes", []) if each["node"] == self.name), {})
        daemons = entry.get("daemons", [])
        poll_until(lambda: not any(is_running(record) for record in daemons), EXIT_TIMEOUT)
        running = [record for record in daemons if is_running(record)]
        remove_ovs_node({"directory": str(self.directory), "daemons": running})
        if running:
            raise HarnessError(f"the Open vSwitch of {self.name} did not exit when asked: killed")

