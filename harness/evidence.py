"""What a person needs to debug a run that went wrong without running it again (as Faucet's
test harness keeps at teardown), and the switch log as a witness (as OVS's own testsuite
reads it when it stops ovs-vswitchd).

- `keep_evidence` writes into the run folder's `evidence/`: `ovs-vsctl show` (and each OVS
  node's), and of every bridge `dump-flows`, `dump-ports`, `dump-ports-desc` and `fdb/show`,
  of every host `ip -d link` and `ip neigh`, and `iptables-save -c` of every host with rules
  of the experiment's, taken while the network still stands.
- `SwitchLog` reads the lines ovs-vswitchd wrote to its log during the run (an OVS node's
  daemons log into the run folder from their start; another server's ovs-vswitchd, in a run
  on several, is read there). A WARN or worse there that neither the harness nor the
  experiment expected fails the run, the line quoted.
"""
import re
from pathlib import Path

from .files import write_text
from .tools import probe

VSWITCHD_LOG = Path("/var/log/openvswitch/ovs-vswitchd.log")
_SEVERE = re.compile(r"\|(WARN|ERR|EMER)\|")
# What ovs-vswitchd logs as a warning in any run, and means nothing about the experiment.
EXPECTED_EVERYWHERE = (
    # its rate limiter saying it skipped messages (those it skipped are not ours to judge)
    r"\|WARN\|Dropped \d+ log messages in last \d+ seconds",
    # A machine too busy to run it for a second (seen under emulation, with three VMs on two
    # cores): the report of a long poll interval, with its counts, and RCU waiting for a
    # thread. OVS's own testsuite lets these pass too (check_logs in tests/ofproto-macros.at).
    r"\|timeval(\(\w+\))?\|WARN\|Unreasonably long \d+ms poll interval",
    r"\|timeval(\(\w+\))?\|WARN\|(faults: \d+ minor, \d+ major|disk: \d+ reads, \d+ writes"
    r"|context switches: \d+ voluntary, \d+ involuntary)",
    r"\|ovs_rcu(\(\w+\))?\|WARN\|blocked \d+ ms waiting for \S+ to quiesce",
)


class SwitchLog:
    """The part of an ovs-vswitchd's log written from now on."""

    def __init__(self, path=VSWITCHD_LOG, whole=False, there=None):
        """whole: the log is the run's own (an OVS node's): read it from its start. there:
        for the log of another server's ovs-vswitchd, the function that gives the argv
        running an argv on that server."""
        self.path = Path(path)
        self.there = there
        self.start = 0 if whole else self._size()

    def _size(self):
        """The log's size in bytes (0 if there is none)."""
        if self.there is None:
            return self.path.stat().st_size if self.path.exists() else 0
        status, size, _ = probe(self.there(["stat", "-c", "%s", str(self.path)]))
        return int(size) if status == 0 and size.strip().isdigit() else 0

    def lines(self):
        """Return the lines written since this object was made (all of them, if the log was
        rotated meanwhile); [] if there is no log."""
        start = self.start if self._size() >= self.start else 0
        if self.there is not None:
            status, text, _ = probe(self.there(["tail", "-c", f"+{start + 1}", str(self.path)]))
            return text.splitlines() if status == 0 else []
        if not self.path.exists():
            return []
        with open(self.path, "rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace").splitlines()

    def unexpected_warnings(self, expected=()):
        """Return the WARN, ERR and EMER lines written since, less those matching a pattern
        of EXPECTED_EVERYWHERE or `expected` (regular expressions)."""
        patterns = [re.compile(pattern) for pattern in (*EXPECTED_EVERYWHERE, *expected)]
        return [line for line in self.lines()
                if _SEVERE.search(line) and not any(pattern.search(line) for pattern in patterns)]


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def keep_evidence(network, tools, folder, switch_log, server_logs=None):
    """Write the evidence of a failed or broken run into folder/evidence/; return its path.
    Every command is run whatever the others did (check=False) and is in the transcript.
    server_logs: {server: its SwitchLog}, for a run on several servers."""
    evidence = Path(folder) / "evidence"
    evidence.mkdir(exist_ok=True)
    tools.transcript.step = "evidence"
    commands = {"ovs-vsctl-show.txt": (["ovs-vsctl", "show"], None)}
    for node, ovs in network.ovs.items():
        commands[f"{_safe(node)}.ovs-vsctl-show.txt"] = (ovs.vsctl("show"), None)
    for bridge in network.bridges():
        for what in ("dump-flows", "dump-ports", "dump-ports-desc"):
            commands[f"{_safe(bridge)}.{what}.txt"] = (network.ofctl(bridge, what), None)
        commands[f"{_safe(bridge)}.fdb-show.txt"] = (network.appctl("fdb/show", bridge), None)
    # (A build that failed may have stopped before some hosts were made.)
    for name in filter(network.built, network.hosts()):
        host = network.host(name)
        commands[f"{_safe(name)}.ip-link.txt"] = (["ip", "-d", "link"], host)
        commands[f"{_safe(name)}.ip-neigh.txt"] = (["ip", "neigh"], host)
    for name in filter(network.built, network.firewalls()):
        commands[f"{_safe(name)}.iptables-save.txt"] = (["iptables-save", "-c"], network.host(name))
    outputs = tools.run_all(list(commands.values()))
    for file_name, output in zip(commands, outputs):
        write_text(evidence / file_name, output)
    write_text(evidence / "ovs-vswitchd.log", "\n".join(switch_log.lines()) + "\n")
    for server, log in (server_logs or {}).items():
        write_text(evidence / server_log_name(server), "\n".join(log.lines()) + "\n")
    return evidence


def server_log_name(server):
    """The file in evidence/ of the part of `server`'s ovs-vswitchd log a run wrote."""
    return f"ovs-vswitchd.{_safe(server)}.log"
