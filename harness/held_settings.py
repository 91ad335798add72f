"""Kernel settings of a server that runs driven from other machines have raised, held on that
server. Each run's record, /run/ovs-harness/held/<run id>.json, says what the run needs and
the value each setting it found raised had before any run raised it. While records hold a
setting it stays at what they need; the last run to let go puts the old value back. So two
driving machines sharing a server do not put its settings back under each other, and a
driving machine whose state file was lost (a reboot) still finds, with `clean --cluster`,
what its runs raised there. The records live in /run, as the settings do: a reboot of the
server clears both.

The harness sends this file to the server as a program (`python3 - COMMAND ARGUMENT...`,
this text on standard input), so every server runs the same logic, whatever is installed
there; its tests import it. Commands (release and sweep print what they put back, a line each):
    hold RUN_ID DRIVER NEEDED_JSON      NEEDED_JSON: {"net/ipv4/neigh/default/gc_thresh1": 256, ...}
    release RUN_ID
    sweep DRIVER LIVE_RUN_IDS_JSON      release the records of DRIVER's runs that are not live
Settings are named by their path under /proc/sys, in slash form.
"""
import fcntl
import json
import sys
from contextlib import contextmanager
from pathlib import Path

HELD = Path("/run/ovs-harness/held")
PROC_SYS = Path("/proc/sys")


def hold(run_id, driver, needed, held=HELD, proc_sys=PROC_SYS):
    """Raise each setting of `needed` ({setting: least value}) to at least its value for run
    `run_id` of machine `driver`, and record the hold (before raising anything)."""
    with _locked(held):
        others = _records(held)
        old = {}
        for setting, value in needed.items():
            now = _read(proc_sys, setting)
            before = next((record["old"][setting] for record in others if setting in record["old"]), now)
            if max(now, value) > before:
                old[setting] = before
        _write_record(held, {"run_id": run_id, "driver": driver, "needed": needed, "old": old})
        for setting, value in needed.items():
            if value > _read(proc_sys, setting):
                _write(proc_sys, setting, value)


def release(run_id, held=HELD, proc_sys=PROC_SYS):
    """Let go of run `run_id`'s hold: each setting it held goes down to what the other
    records need, or back to its old value when none needs more. Returns a line for each
    setting put back to its old value."""
    with _locked(held):
        return _release(run_id, held, proc_sys)


def sweep(driver, live, held=HELD, proc_sys=PROC_SYS):
    """Release the holds of machine `driver`'s runs that are not in `live` (their run ended
    without letting go, and its state was lost). Returns a line for each setting put back."""
    with _locked(held):
        lines = []
        for record in _records(held):
            if record["driver"] == driver and record["run_id"] not in live:
                lines += _release(record["run_id"], held, proc_sys)
        return lines


def _release(run_id, held, proc_sys):
    path = held / f"{run_id}.json"
    if not path.exists():
        return []
    record = json.loads(path.read_text())
    path.unlink()
    others = _records(held)
    lines = []
    for setting, old in record["old"].items():
        holders = [other for other in others if setting in other["old"]]
        wanted = max([old] + [other["needed"].get(setting, old) for other in holders])
        if wanted < _read(proc_sys, setting):
            _write(proc_sys, setting, wanted)
            if wanted == old:
                lines.append(f"{setting.replace('/', '.')} back to {old}")
    return lines


@contextmanager
def _locked(held):
    """Hold the records' lock: the harness runs of several driving machines take it in turn."""
    held.mkdir(parents=True, exist_ok=True)
    with open(held / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _records(held):
    return [json.loads(path.read_text()) for path in sorted(held.glob("*.json"))]


def _write_record(held, record):
    partial = held / f".{record['run_id']}.partial"
    partial.write_text(json.dumps(record))
    partial.replace(held / f"{record['run_id']}.json")


def _read(proc_sys, setting):
    return int((proc_sys / setting).read_text())


def _write(proc_sys, setting, value):
    (proc_sys / setting).write_text(str(value))


def main(argv):
    command, *arguments = argv
    if command == "hold":
        hold(arguments[0], arguments[1], json.loads(arguments[2]), HELD, PROC_SYS)
        lines = []
    elif command == "release":
        lines = release(arguments[0], HELD, PROC_SYS)
    elif command == "sweep":
        lines = sweep(arguments[0], set(json.loads(arguments[1])), HELD, PROC_SYS)
    else:
        raise SystemExit(f"held_settings: unknown command {command!r}")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
