"""All-pairs reachability probed in parallel (one fping per source host), on the three
topology shapes: nothing gets through without flows, everything with NORMAL on every switch."""
from pathlib import Path

import pytest

from conftest import NOTHING, TEST_EXPERIMENTS, harness, ours_on_machine
from harness import load_run

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


@pytest.mark.parametrize("shape, size, hosts", [("single", 16, 16), ("linear", 3, 6), ("tree", 2, 4)])
def test_reachability_matrix_before_and_after_normal(results_dir, shape, size, hosts):
    process = harness("run", TEST_EXPERIMENTS / "reach_everywhere.py", "-p", f"shape={shape}",
                      "-p", f"size={size}", "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(Path(process.stdout.splitlines()[-1]))
    pairs = hosts * (hosts - 1)
    matrix = run.reachability.groupby("step")["reachable"].agg(["sum", "count"])
    assert matrix.loc["no flows"].tolist() == [0, pairs]
    assert matrix.loc["NORMAL everywhere"].tolist() == [pairs, pairs]
    # A pair that never answered was tried three times; one that answered says on which try.
    assert set(run.reachability[run.reachability.step == "no flows"]["tries"]) == {3}
    assert set(run.reachability[run.reachability.step == "NORMAL everywhere"]["tries"]) <= {1, 2, 3}
    assert len(run.metadata["hosts"]) == hosts
    assert ours_on_machine() == NOTHING
