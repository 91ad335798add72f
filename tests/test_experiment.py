"""Finding experiments by name in experiments/ or by file path."""
import pytest

from conftest import TEST_EXPERIMENTS
from harness import SingleSwitch
from harness.api import LabSession, run
from harness.errors import HarnessError
from harness.experiment import experiment_code_error, experiment_names, find_experiment


def test_normal_mode_is_found_by_name_with_its_summary():
    assert "normal_mode" in experiment_names()
    experiment = find_experiment("normal_mode")
    assert experiment.name == "normal_mode"
    assert experiment.summary().startswith("NORMAL mode in OVS")
    assert str(experiment().topology) == "single switch, 3 hosts"


def test_an_experiment_file_anywhere_on_disk(tmp_path):
    path = tmp_path / "my_experiment.py"
    path.write_text((TEST_EXPERIMENTS / "failing_check.py").read_text())
    experiment = find_experiment(str(path))
    assert (experiment.__name__, experiment.name) == ("ExpectsH3Learned", "my_experiment")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(HarnessError, match="unknown experiment 'nope'; known: .*normal_mode"):
        find_experiment("nope")


@pytest.mark.parametrize("file, message", [
    ("no_experiment.py", "does not define an experiment"),
    ("syntax_error.py", "line 4: syntax error"),
    ("missing.py", "no experiment file"),
])
def test_files_that_are_not_experiments(file, message):
    with pytest.raises(HarnessError, match=message):
        find_experiment(str(TEST_EXPERIMENTS / file))


@pytest.mark.parametrize("spec", ["../../etc/passwd", "experiments/../../etc/passwd"])
def test_a_path_that_is_not_a_python_file_is_refused(spec):
    with pytest.raises(HarnessError, match="is not an experiment file: give a .py file"):
        find_experiment(spec)


def test_an_error_in_the_harness_is_not_located_as_a_lab_sessions_code():
    """LabSession's experiment class is made in harness/api.py: an error raised there (a
    switch's log warning found when the session closes) is the harness's, not a line of the
    session's code to point at."""
    session_class = type(LabSession(SingleSwitch(hosts=2))._run.experiment)
    with pytest.raises(HarnessError) as raised:
        run("nope")
    assert experiment_code_error(raised.value, session_class) == str(raised.value)
