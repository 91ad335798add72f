"""A run's results: tidy tables (one row per flow, MAC, port, ping, check... per step),
metadata and transcript in one folder, and `load_run` to read them back in a notebook.

Layout: <results dir>/<experiment>/<run id>/ holding every table of COLUMNS as Parquet with
CSV beside it, metadata.json and transcript.txt. Every file is replaced atomically after
each step, so a folder always holds what was observed so far.

pandas is imported where tables are made or read, not with this module: a run's start-up
does not wait for it (0.3 s), and the tables are written by a thread of their own.
"""
import json
import os
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import HarnessError
from .files import write_atomically, write_json, write_text

if TYPE_CHECKING:
    import pandas as pd

RESULTS_VARIABLE = "OVS_HARNESS_RESULTS"
CHECKOUT_RESULTS = Path(__file__).resolve().parent.parent / "results"


def default_results_dir():
    """Where runs go and are looked for when no --results-dir is given: $OVS_HARNESS_RESULTS,
    else the checkout's results/ folder, wherever the command is run from."""
    return Path(os.environ.get(RESULTS_VARIABLE) or CHECKOUT_RESULTS)


STEP_KEYS = ["run_id", "step_index", "step"]
COLUMNS = {
    "flows": STEP_KEYS + ["switch", "table", "priority", "cookie", "match", "actions",
                          "n_packets", "n_bytes", "duration"],
    "fdb": STEP_KEYS + ["switch", "port", "port_name", "vlan", "mac", "host", "age"],
    "ports": STEP_KEYS + ["switch", "port", "port_name"] +
    [f"{direction}_{counter}" for direction in ("rx", "tx")
     for counter in ("packets", "bytes", "drops", "errors")],
    "pings": STEP_KEYS + ["src", "dst", "sent", "received", "loss",
                          "rtt_min", "rtt_avg", "rtt_max", "rtt_mdev", "rtt_first"],
    "traces": STEP_KEYS + ["switch", "packet", "flow", "table", "priority", "match", "actions",
                           "datapath_actions", "output"],
    "reachability": STEP_KEYS + ["src", "dst", "reachable", "tries"],
    "measurements": STEP_KEYS + ["name", "value", "unit"],
    "checks": STEP_KEYS + ["name", "description", "expected", "observed", "passed", "hop", "direction"],
    "iptables": STEP_KEYS + ["node", "table", "chain", "rule", "packets", "bytes"],
    "conntrack": STEP_KEYS + ["node", "protocol", "state", "src", "dst", "sport", "dport", "id",
                              "reply_src", "reply_dst", "unreplied"],
    "controller_fdb": STEP_KEYS + ["switch", "port", "port_name", "mac", "host"],
    "controller_stats": STEP_KEYS + ["counter", "value"],
    "frames": STEP_KEYS + ["at", "time", "src", "dst", "src_mac", "dst_mac", "vlan", "ethertype", "kind",
                           "ip_src", "ip_dst", "icmp_seq", "dst_port"],
}
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
MARKER = ".ovs-harness-results"     # marks a folder as holding ovs-harness runs


def new_run_id():
    """Return a new run id: the local start time and 4 random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def as_text(value):
    """Render an expected or observed value for the checks table."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) if value else "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def step_rows(run_id, step, host_named):
    """Return {table name: rows} for one step of a run (see harness.lab.Step).
    host_named(mac, vlan) names the host a MAC address is (harness.topology.Wiring)."""
    keys = {"run_id": run_id, "step_index": step.index, "step": step.name}
    snapshot = step.snapshot
    rows = {name: [] for name in COLUMNS}
    for switch in (snapshot.flows if snapshot else {}):
        rows["flows"] += [{**keys, "switch": switch, **flow} for flow in snapshot.flows[switch]]
        rows["fdb"] += [{**keys, "switch": switch, **entry, "host": host_named(entry["mac"], entry["vlan"])}
                        for entry in snapshot.fdb[switch]]
        rows["ports"] += [{**keys, "switch": switch, **port} for port in snapshot.ports[switch]]
    for switch in (snapshot.controller_fdb if snapshot else {}):
        rows["controller_fdb"] += [{**keys, "switch": switch, **entry, "host": host_named(entry["mac"])}
                                   for entry in snapshot.controller_fdb[switch]]
    rows["controller_stats"] = [{**keys, "counter": counter, "value": value}
                                for counter, value in (snapshot.controller_stats if snapshot else {}).items()]
    for name in ("iptables", "conntrack"):
        for node, entries in (getattr(snapshot, name) if snapshot else {}).items():
            rows[name] += [{**keys, "node": node, **entry} for entry in entries]
    for point in (snapshot.frames if snapshot else {}):
        rows["frames"] += [{**keys, **frame} for frame in snapshot.step_frames(point)]
    rows["pings"] = [{**keys, **ping} for ping in step.pings]
    rows["traces"] = [{**keys, **trace} for trace in step.traces]
    rows["reachability"] = [{**keys, **pair} for pair in step.reachability]
    rows["measurements"] = [{**keys, **measurement} for measurement in step.measurements]
    rows["checks"] = [{**keys, "name": check.name, "description": check.description,
                       "expected": as_text(check.expected), "observed": as_text(check.observed),
                       "passed": check.passed, "hop": check.hop, "direction": check.direction}
                      for check in step.checks]
    return rows


def table_frame(name, rows):
    """Return the rows of table `name` as a DataFrame with the table's columns in order."""
    import pandas as pd
    return pd.DataFrame(rows, columns=COLUMNS[name])


def claim_results_dir(results_dir):
    """Make sure results_dir is ours to write in: new, empty, or marked as holding runs.

    Refusing any other existing folder keeps a mistyped --results-dir (/etc, a home folder)
    from being filled with run folders. Raises HarnessError; returns the folder's Path."""
    folder = Path(results_dir)
    if folder.exists() and not folder.is_dir():
        raise HarnessError(f"--results-dir {results_dir} is a file, not a folder")
    ours = (folder / MARKER).exists() or any(folder.glob("*/*/metadata.json"))
    if folder.exists() and any(folder.iterdir()) and not ours:
        raise HarnessError(f"--results-dir {results_dir} holds other files and no ovs-harness runs: "
                           "give a new or empty folder, or one that already holds runs")
    _write_or_say_why(folder, lambda: (folder.mkdir(parents=True, exist_ok=True), (folder / MARKER).touch()))
    return folder


def _write_or_say_why(folder, write):
    """Do `write`; turn a failure to write (disk full, read-only, no permission) into one
    line, HarnessError naming the folder."""
    try:
        return write()
    except OSError as error:
        raise HarnessError(f"cannot write results in {folder}: {error.strerror or error}") from None


class RunFolder:
    """The folder of one run; every file in it is written atomically.

    A step's tables are written by a thread of their own while the next step runs: Parquet
    and CSV of every table took 0.07 s a step here, and the first write imports pandas
    (0.3 s), which a run's pings and waits then hide. Only the tables a step added rows to
    are rewritten."""

    def __init__(self, path):
        self.path = Path(path)
        _write_or_say_why(self.path, lambda: self.path.mkdir(parents=True, exist_ok=True))
        self.rows = {name: [] for name in COLUMNS}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-tables")
        self._writes = []       # the table writes started and not yet seen to succeed
        self._written = set()   # the tables written at least once

    def add_step(self, run_id, step, host_named):
        """Add a finished step's rows and start rewriting the tables it changed (after the
        first step, every table); return the step's rows. Raises HarnessError if an earlier
        step's tables could not be written."""
        added = step_rows(run_id, step, host_named)
        for name, rows in added.items():
            self.rows[name] += rows
        self._raise_failed_write(wait=False)
        self._write_tables([name for name in COLUMNS if added[name] or name not in self._written])
        return added

    def close(self):
        """Write the tables never written yet (a run stopped before its first step still
        gets every table, with its columns), wait for every write to end and stop the
        writer. Raises HarnessError if a write failed."""
        self._write_tables([name for name in COLUMNS if name not in self._written])
        self._writer.shutdown(wait=True)
        self._raise_failed_write(wait=True)

    def _write_tables(self, names):
        tables = {name: list(self.rows[name]) for name in names}     # as they stand now
        self._written.update(names)
        self._writes.append(self._writer.submit(
            lambda: [self._write_table(name, table_frame(name, rows)) for name, rows in tables.items()]))

    def _raise_failed_write(self, wait):
        """Raise the error of a table write that failed (HarnessError); with `wait`, of any
        write started, after waiting for it to end."""
        ended = self._writes if wait else [write for write in self._writes if write.done()]
        self._writes = [write for write in self._writes if write not in ended]
        for write in ended:
            write.result()

    def _write_table(self, name, table):
        """Write one table as Parquet and as CSV."""
        _write_or_say_why(self.path, lambda: write_atomically(
            self.path / f"{name}.parquet", lambda partial: table.to_parquet(partial, index=False)))
        _write_or_say_why(self.path, lambda: write_atomically(
            self.path / f"{name}.csv", lambda partial: table.to_csv(partial, index=False)))

    def write_metadata(self, metadata):
        _write_or_say_why(self.path, lambda: write_json(self.path / "metadata.json", metadata))

    def write_transcript(self, text):
        _write_or_say_why(self.path, lambda: write_text(self.path / "transcript.txt", text))


@dataclass
class Run:
    """A finished (or interrupted) run read back from its folder."""
    path: Path
    metadata: dict
    flows: "pd.DataFrame"
    fdb: "pd.DataFrame"
    ports: "pd.DataFrame"
    pings: "pd.DataFrame"
    traces: "pd.DataFrame"
    reachability: "pd.DataFrame"
    measurements: "pd.DataFrame"
    checks: "pd.DataFrame"
    controller_fdb: "pd.DataFrame"
    controller_stats: "pd.DataFrame"
    frames: "pd.DataFrame"
    iptables: "pd.DataFrame"
    conntrack: "pd.DataFrame"

    def deltas(self, table):
        """The rows of `table` ("flows" or "ports") in step order, each counter replaced by
        what its step added to it (the first step: its count from zero), as whole numbers.
        Counters are cumulative in the tables themselves."""
        from .analysis import COUNTERS
        if table not in COUNTERS:
            raise HarnessError(f"deltas are for {' and '.join(COUNTERS)}, not {table!r}")
        keys, values = COUNTERS[table]
        rows = getattr(self, table).sort_values("step_index", kind="stable").reset_index(drop=True)
        counts = rows[values].fillna(0)
        grown = counts.groupby([rows[key] for key in keys], sort=False).diff().fillna(counts)
        return rows.assign(**{value: grown[value].astype("int64") for value in values})

    @property
    def transcript(self):
        """The run's transcript: every command sent to a switch or host, with its output."""
        path = self.path / "transcript.txt"
        return path.read_text() if path.exists() else ""


def read_metadata(path):
    """Return the metadata of the run in folder `path`, without reading its tables."""
    metadata_path = Path(path) / "metadata.json"
    if not metadata_path.exists():
        raise HarnessError(f"{path} is not a run folder (it has no metadata.json)")
    return json.loads(metadata_path.read_text())


def load_run(path):
    """Read the run in folder `path`; return a Run whose tables are DataFrames."""
    import pandas as pd
    path = Path(path)
    metadata = read_metadata(path)
    tables = {}
    for name in COLUMNS:
        table_path = path / f"{name}.parquet"
        tables[name] = pd.read_parquet(table_path) if table_path.exists() else table_frame(name, [])
    return Run(path=path, metadata=metadata, **tables)


def run_folders(results_dir):
    """Return the run folders under results_dir, oldest first."""
    folders = [p.parent for p in Path(results_dir).glob("*/*/metadata.json")]
    return sorted(folders, key=lambda folder: folder.name)


def find_run(spec, results_dir=None):
    """Return the folder of run `spec`: a run folder's path, a run id, or "latest"."""
    results_dir = results_dir if results_dir is not None else default_results_dir()
    folders = run_folders(results_dir)
    if spec == "latest":
        if not folders:
            raise HarnessError(f"no runs in {results_dir} yet: run an experiment first")
        return folders[-1]
    if RUN_ID.match(spec):
        matches = [folder for folder in folders if folder.name == spec]
        if matches:
            return matches[0]
    if (Path(spec) / "metadata.json").exists():
        return Path(spec)
    raise HarnessError(f"no run {spec!r} in {results_dir}: give a run folder, a run id "
                       "(see `python -m harness runs`) or `latest`")
