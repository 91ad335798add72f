"""Run folders: tidy tables written atomically, read back by load_run, found by id."""
import errno
import json

import pytest

from harness.checks import Check
from harness.snapshot import Snapshot
from harness.errors import HarnessError
from harness.lab import Step
from harness.results import COLUMNS, RunFolder, as_text, find_run, load_run, new_run_id

def host_named(mac, vlan=None):
    return {"00:00:00:00:00:01": "h1"}.get(mac, "")


def finished_step():
    step = Step(index=1, name="h1 ping h2")
    step.pings.append({"src": "h1", "dst": "h2", "sent": 2, "received": 2, "loss": 0.0,
                       "rtt_min": 0.1, "rtt_avg": 0.2, "rtt_max": 0.3, "rtt_mdev": 0.1})
    step.snapshot = Snapshot(
        flows={"s1": [{"table": 0, "priority": 32768, "cookie": 0, "match": "", "actions": "NORMAL",
                       "n_packets": 8, "n_bytes": 560, "duration": 2.0}]},
        fdb={"s1": [{"port": 1, "port_name": "s1-eth1", "vlan": 0, "mac": "00:00:00:00:00:01", "age": 0}]},
        ports={"s1": [{"port": 1, "port_name": "s1-eth1", "rx_packets": 4, "rx_bytes": 280,
                       "rx_drops": 0, "rx_errors": 0, "tx_packets": 4, "tx_bytes": 280,
                       "tx_drops": 0, "tx_errors": 0}]},
        pings=list(step.pings))
    check = Check("s1 learned h1 on port 1", "h1's frames came in on port 1", 1, lambda s: 1)
    check.evaluate(step.snapshot)
    step.checks.append(check)
    return step


def write_run(folder, run_id, started="2026-11-25T10:00:00+0000"):
    run = RunFolder(folder / "normal_mode" / run_id)
    run.write_metadata({"run_id": run_id, "experiment": "normal_mode", "started": started})
    return run


def test_a_step_becomes_one_row_per_thing_with_run_step_and_switch(tmp_path):
    run = write_run(tmp_path, "20261125-100000-abcd")
    run.add_step("20261125-100000-abcd", finished_step(), host_named)
    run.close()
    loaded = load_run(run.path)
    assert loaded.flows[["step", "switch", "actions", "n_packets"]].values.tolist() == \
        [["h1 ping h2", "s1", "NORMAL", 8]]
    assert loaded.fdb[["host", "port", "port_name"]].values.tolist() == [["h1", 1, "s1-eth1"]]
    assert loaded.ports["rx_packets"].tolist() == [4]
    assert loaded.pings[["src", "dst", "loss"]].values.tolist() == [["h1", "h2", 0.0]]
    assert loaded.checks[["name", "expected", "observed", "passed"]].values.tolist() == \
        [["s1 learned h1 on port 1", "1", "1", True]]
    for name in COLUMNS:
        assert list(getattr(loaded, name).columns) == COLUMNS[name]
        assert (run.path / f"{name}.csv").read_text().splitlines()[0] == ",".join(COLUMNS[name])


def test_a_run_without_steps_still_has_every_table_with_its_columns(tmp_path):
    run = write_run(tmp_path, "20261125-100000-abcd")
    run.close()
    loaded = load_run(run.path)
    assert all(list(getattr(loaded, name).columns) == COLUMNS[name] and getattr(loaded, name).empty
               for name in COLUMNS)


def test_no_partial_files_are_left_in_a_run_folder(tmp_path):
    run = write_run(tmp_path, "20261125-100000-abcd")
    run.add_step("20261125-100000-abcd", finished_step(), host_named)
    run.write_transcript("mininet> sh ovs-ofctl dump-flows s1\n")
    run.close()
    assert not [p.name for p in run.path.iterdir() if "partial" in p.name]
    assert json.loads((run.path / "metadata.json").read_text())["run_id"] == "20261125-100000-abcd"


def test_after_the_first_step_only_the_tables_a_step_added_to_are_rewritten(tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr(RunFolder, "_write_table", lambda self, name, table: written.append(name))
    run = write_run(tmp_path, "20261125-100000-abcd")
    run.add_step("20261125-100000-abcd", finished_step(), host_named)
    run.add_step("20261125-100000-abcd", Step(index=2, name="a step that observed nothing"), host_named)
    run.close()
    assert written == list(COLUMNS)


def test_a_table_write_that_failed_is_an_error_when_the_folder_is_closed(tmp_path, monkeypatch):
    def disk_full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")
    run = write_run(tmp_path, "20261125-100000-abcd")
    monkeypatch.setattr("harness.results.write_atomically", disk_full)
    run.add_step("20261125-100000-abcd", finished_step(), host_named)
    with pytest.raises(HarnessError, match=f"cannot write results in {run.path}: No space left on device"):
        run.close()


def test_find_run_by_path_id_and_latest(tmp_path):
    old = write_run(tmp_path, "20261125-090000-aaaa").path
    new = write_run(tmp_path, "20261125-100000-bbbb").path
    assert find_run("latest", tmp_path) == new
    assert find_run("20261125-090000-aaaa", tmp_path) == old
    assert find_run(str(old), tmp_path) == old


@pytest.mark.parametrize("spec", ["20261125-000000-ffff", "../../etc", "latest"])
def test_find_run_explains_what_it_could_not_find(tmp_path, spec):
    with pytest.raises(HarnessError, match="run"):
        find_run(spec, tmp_path / "empty")


def test_load_run_of_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(HarnessError, match="not a run folder"):
        load_run(tmp_path)


def test_values_render_for_the_checks_table():
    assert [as_text(v) for v in (None, [], ["h1", "h2"], 100.0, 12.5, 3)] == \
        ["none", "none", "h1, h2", "100", "12.5", "3"]


def test_run_ids_sort_by_time_and_differ():
    first, second = new_run_id(), new_run_id()
    assert first != second and first[:15] == second[:15]
