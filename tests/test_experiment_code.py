"""A bug in the user's own experiment file, found before anything is built: one line with
the file, the line and Python's hint, exit 2; and a run that checks nothing is not "passed"."""
import json
import os
import subprocess
import sys

import pytest

from conftest import NOTHING, ROOT, TEST_EXPERIMENTS, harness, ours_on_machine, start_run_until_ready
from harness import load_run

pytestmark = pytest.mark.network     # `run` needs root and OVS before it reads the experiment


def relative(path):
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize("command", ["run", "describe"])
@pytest.mark.parametrize("experiment, line, what", [
    ("misspelt_check.py", 13, "AttributeError: 'CheckBook' object has no attribute 'ping_los'. "
                              "Did you mean: 'ping_loss'?"),
    ("unknown_host.py", 15, "no host 'h5' in this topology (hosts: h1, h2, h3)"),
    ("bad_vlan.py", 6, "tag must be VLAN numbers from 1 to 4094, not 4095"),
    ("uncaptured_frames.py", 11, "'h2' is not captured (capture points so far: none); start it with "
                                 "lab.capture before checking its frames"),
])
def test_a_bug_in_the_experiment_is_its_file_and_line_before_anything_is_built(command, experiment, line, what,
                                                                                results_dir):
    process = harness(command, TEST_EXPERIMENTS / experiment,
                      *(["--results-dir", results_dir] if command == "run" else []))
    assert process.returncode == 2, process.stdout + process.stderr
    assert process.stderr.strip().splitlines() == [
        f"error: {relative(TEST_EXPERIMENTS / experiment)} line {line}: {what}"]
    assert "Traceback" not in process.stdout
    assert not results_dir.exists()         # nothing was built, nothing recorded
    assert ours_on_machine() == NOTHING


def test_an_error_in_the_parameter_code_is_located_too(tmp_path):
    experiment = tmp_path / "bad_validate.py"
    experiment.write_text(
        "from harness import Experiment, SingleSwitch\n\n\n"
        "class BadValidate(Experiment):\n"
        "    \"\"\"Its validate has a bug.\"\"\"\n"
        "    topology = SingleSwitch(hosts=3)\n\n"
        "    def validate(self):\n"
        "        return self.hosst > 2\n\n"
        "    def run(self, lab):\n"
        "        pass\n")
    process = harness("describe", experiment)
    assert process.returncode == 2
    assert process.stderr.strip() == (f"error: {experiment} line 9: AttributeError: 'BadValidate' object "
                                      "has no attribute 'hosst'")


def test_a_run_that_states_no_check_is_not_passed(results_dir):
    process = harness("run", TEST_EXPERIMENTS / "no_checks.py", "--results-dir", results_dir)
    assert process.returncode == 1, process.stdout + process.stderr
    run = load_run(process.stdout.splitlines()[-1])
    assert run.metadata["outcome"] == "no checks"
    assert "no checks" in process.stdout and "passed" not in process.stdout.splitlines()[-2]
    assert ours_on_machine() == NOTHING


def test_show_piped_into_head_ends_quietly(results_dir):
    assert harness("run", "normal_mode", "-p", "count=1", "--results-dir", results_dir).returncode == 0
    shown = subprocess.run(f"{sys.executable} -m harness show latest --csv checks --results-dir {results_dir} "
                           "| head -2", shell=True, cwd=ROOT, capture_output=True, text=True)
    assert shown.stdout.splitlines()[0].startswith("run_id,step_index,step,name")
    assert shown.stderr == "", shown.stderr


def test_metadata_and_transcript_are_written_after_every_step(tmp_path, results_dir):
    """A run killed in its third step has its first two steps' metadata and transcript."""
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "blocking.py", "-p", "steps_before=2",
                                    "--results-dir", results_dir)
    process.kill()
    process.communicate()
    [folder] = [path.parent for path in results_dir.glob("*/*/metadata.json")]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["outcome"] == "running"
    assert [step["name"] for step in metadata["steps"]] == ["warm-up 1", "warm-up 2"]
    assert "### step: warm-up 2" in (folder / "transcript.txt").read_text()
    assert harness("clean").returncode == 0
    assert ours_on_machine() == NOTHING
