"""Settings of the machine's kernel (not of one namespace) that a run changes, and putting
them back: the run state records the old values before anything is changed, so teardown,
or `clean` after a kill, restores them."""
from pathlib import Path

NEIGHBOUR_SYSCTLS = Path("/proc/sys/net/ipv4/neigh/default")


def neighbour_room(entries):
    """{/proc/sys path: value} of the thresholds that let the kernel hold `entries` ARP entries."""
    return {NEIGHBOUR_SYSCTLS / "gc_thresh1": entries // 4, NEIGHBOUR_SYSCTLS / "gc_thresh2": entries // 2,
            NEIGHBOUR_SYSCTLS / "gc_thresh3": entries}


def make_room_for_neighbours(entries, state):
    """Let the hosts of this machine hold `entries` ARP entries at once (every host one for
    every other: the number of hosts squared).

    The kernel counts the ARP entries of all namespaces together and drops new ones past
    gc_thresh3 ("neighbor table overflow"): Mininet raises it to 16384, which all-pairs
    traffic among 128 or more hosts exceeds. Raise the thresholds as needed; the values
    they had are kept in the run state (`state`, a RunState), and put back by restore()."""
    raised = {path: value for path, value in neighbour_room(entries).items() if value > int(path.read_text())}
    state.update(sysctls={str(path): int(path.read_text()) for path in raised})
    for path, value in raised.items():
        path.write_text(str(value))


def make_room_on_server(entries, state, server, there, tools):
    """make_room_for_neighbours on another server of a run on several (`there(argv)` runs
    argv on it; Mininet raises nothing there, and Linux's own gc_thresh3 is 1024); the old
    values go under the server's entry of the run state, for restore_on_server."""
    wanted = neighbour_room(entries)
    now = [int(value) for value in tools.run(there(["cat", *map(str, wanted)])).split()]
    raised = {path: value for (path, value), old in zip(wanted.items(), now) if value > old}
    servers = state.read()["servers"]
    servers[server]["sysctls"] = {str(path): old for path, old in zip(wanted, now) if path in raised}
    state.update(servers=servers)
    if raised:
        tools.run(there(["sysctl", "-q", "-w", *(f"{_key(path)}={value}" for path, value in raised.items())]))


def _key(path):
    """The sysctl key of a /proc/sys path, in slash form."""
    return str(path).removeprefix("/proc/sys/")


def restore(previous, there=None, tools=None):
    """Put back the kernel settings a run raised ({/proc/sys path: value}), on this machine
    or with `there` and `tools` on another server; return one line each."""
    if there is not None and previous:
        tools.run(there(["sysctl", "-q", "-w", *(f"{_key(path)}={value}" for path, value in previous.items())]),
                  check=False)
    restored = []
    for path, value in previous.items():
        if there is None:
            Path(path).write_text(str(value))
        restored.append(f"{_key(path).replace('/', '.')} back to {value}")
    return restored
