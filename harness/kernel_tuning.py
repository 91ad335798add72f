"""Settings of the machine's kernel (not of one namespace) that a run changes, and putting
them back: the run state records the old values before anything is changed, so teardown,
or `clean` after a kill, restores them. On another server of a run on several, the run holds
them there instead (harness.held_settings), as runs driven from other machines may too.
Mininet's own `fixLimits`, which raises a dozen machine-wide settings for good on its first
network, is kept from running (skip_fixlimits): of what it raises, a run raises what it
needs, for itself."""
import json
import resource
from pathlib import Path

from . import held_settings

NEIGHBOUR_SYSCTLS = Path("/proc/sys/net/ipv4/neigh/default")
# How many received frames a CPU queues before it drops them (a veth's frame waits there for
# the switch): the all-pairs probe's flood budget (harness.traffic) was measured with
# Mininet's 5000; Linux's default is 1000.
BACKLOG, BACKLOG_NEEDED = Path("/proc/sys/net/core/netdev_max_backlog"), 5000
# The process's own limits fixLimits raises (not the machine's): a network of 254 hosts
# holds more open files than the usual 1,024.
PROCESS_LIMITS = ((resource.RLIMIT_NPROC, 8192), (resource.RLIMIT_NOFILE, 16384))


def skip_fixlimits(mininet_class):
    """Keep Mininet (`mininet_class`, mininet.net.Mininet) from running fixLimits, and raise
    the process limits it would have raised."""
    for limit, wanted in PROCESS_LIMITS:
        soft, hard = resource.getrlimit(limit)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            try:
                resource.setrlimit(limit, (wanted, hard if hard == resource.RLIM_INFINITY else max(hard, wanted)))
            except (ValueError, OSError):   # no CAP_SYS_RESOURCE: as far as the hard limit goes
                resource.setrlimit(limit, (hard, hard))
    mininet_class.inited = True     # what Mininet.init checks before it calls fixLimits


def needed(entries):
    """{/proc/sys path: least value} a run needs: room for `entries` ARP entries (the
    kernel counts those of all namespaces together and drops new ones past gc_thresh3,
    "neighbor table overflow"; all-pairs traffic among N hosts makes N x N), and the
    backlog."""
    return {NEIGHBOUR_SYSCTLS / "gc_thresh1": entries // 4, NEIGHBOUR_SYSCTLS / "gc_thresh2": entries // 2,
            NEIGHBOUR_SYSCTLS / "gc_thresh3": entries, BACKLOG: BACKLOG_NEEDED}


def make_room(entries, state):
    """Raise this machine's settings to what a run whose hosts here may hold `entries` ARP
    entries needs (see `needed`); the values they had are kept in the run state (`state`, a
    RunState), and put back by restore()."""
    raised = {path: value for path, value in needed(entries).items() if value > int(path.read_text())}
    state.update(sysctls={str(path): int(path.read_text()) for path in raised})
    for path, value in raised.items():
        path.write_text(str(value))


def hold_on_server(entries, state, server, there, tools):
    """make_room on another server of a run on several (`there(argv, stdin)` runs argv on it): the
    run holds the settings there (see harness.held_settings), which the run state says first,
    so that teardown or `clean` lets go of them with release_on_server."""
    from .cluster import this_machine
    servers = state.read()["servers"]
    servers[server]["holds_settings"] = True
    state.update(servers=servers)
    wanted = {_key(path): value for path, value in needed(entries).items()}
    _held_settings(there, tools, "hold", state.run_id, this_machine(), json.dumps(wanted))


def release_on_server(run_id, there, tools):
    """Let go of what run `run_id` held on another server; return one line per setting put back."""
    return _held_settings(there, tools, "release", run_id)


def sweep_server(driver, live, there, tools):
    """Let go of what runs of machine `driver` that are not in `live` (run ids) held on
    another server; return one line per setting put back."""
    return _held_settings(there, tools, "sweep", driver, json.dumps(sorted(live)))


def _held_settings(there, tools, *arguments):
    """Run harness.held_settings with `arguments` on another server, the program sent on
    python3's standard input; return the lines it printed."""
    program = Path(held_settings.__file__).read_text()
    return tools.run(there(["python3", "-", *arguments], stdin=True), text=program).splitlines()


def _key(path):
    """The sysctl key of a /proc/sys path, in slash form."""
    return str(path).removeprefix("/proc/sys/")


def restore(previous):
    """Put back the kernel settings a run raised on this machine ({/proc/sys path: value});
    return one line each."""
    for path, value in previous.items():
        Path(path).write_text(str(value))
    return [f"{_key(path).replace('/', '.')} back to {value}" for path, value in previous.items()]
