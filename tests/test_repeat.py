"""`run --repeat N`: the seed experiments count the same packets at every step, five times."""
from pathlib import Path

import pandas as pd
import pytest

from conftest import NOTHING, harness, ours_on_machine

pytestmark = pytest.mark.network     # real Mininet and OVS, as root


@pytest.mark.parametrize("experiment", ["normal_mode", "normal_priority"])
def test_five_runs_count_identically_at_every_step(experiment, results_dir):
    process = harness("run", experiment, "--repeat", "5", "--results-dir", results_dir, timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    assert "per-step counters are identical in the 5 runs" in process.stdout
    [summary] = (results_dir / experiment / "repeats").glob("*.csv")
    spread = pd.read_csv(summary)
    assert (spread["runs"] == 5).all() and (spread["variance"] == 0).all()
    assert {"flows n_packets", "ports rx_packets"} <= set(spread["counter"])
    assert len(list(Path(results_dir, experiment).glob("*/metadata.json"))) == 5
    assert ours_on_machine() == NOTHING


def test_repeat_must_be_positive(results_dir):
    process = harness("run", "normal_mode", "--repeat", "0", "--results-dir", results_dir)
    assert process.returncode == 2 and "--repeat must be at least 1, not 0" in process.stderr
