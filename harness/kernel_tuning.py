"""Settings of the machine's kernel (not of one namespace) that a run changes, and putting
them back: the run state records the old values before anything is changed, so teardown,
or `clean` after a kill, restores them."""
from pathlib import Path

NEIGHBOUR_SYSCTLS = Path("/proc/sys/net/ipv4/neigh/default")


def make_room_for_neighbours(host_count, state):
    """Let every host hold an ARP entry for every other host at once.

    The kernel counts the ARP entries of all namespaces together and drops new ones past
    gc_thresh3 ("neighbor table overflow"): Mininet raises it to 16384, which all-pairs
    traffic among 128 or more hosts exceeds. Raise the thresholds as needed; the values
    they had are kept in the run state (`state`, a RunState), and put back by restore()."""
    entries = host_count ** 2
    wanted = {NEIGHBOUR_SYSCTLS / "gc_thresh1": entries // 4, NEIGHBOUR_SYSCTLS / "gc_thresh2": entries // 2,
              NEIGHBOUR_SYSCTLS / "gc_thresh3": entries}
    raised = {path: value for path, value in wanted.items() if value > int(path.read_text())}
    state.update(sysctls={str(path): int(path.read_text()) for path in raised})
    for path, value in raised.items():
        path.write_text(str(value))


def restore(previous):
    """Put back the kernel settings a run raised ({/proc/sys path: value}); return one line each."""
    restored = []
    for path, value in previous.items():
        Path(path).write_text(str(value))
        restored.append(f"{path.removeprefix('/proc/sys/').replace('/', '.')} back to {value}")
    return restored
