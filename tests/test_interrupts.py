"""A signal during a run's steps is raised where it lands, except inside `uninterrupted()`
(starting a process and recording it): there it waits for the block's end."""
import os
import signal
import subprocess
import sys

import pytest

from conftest import ROOT

from harness.errors import Interrupted
from harness.experiment import built_experiment
from harness.interrupts import Interrupts, uninterrupted


@pytest.fixture
def steps_running():
    with Interrupts() as interrupts:
        interrupts.raising = True
        yield interrupts


def test_a_signal_inside_is_raised_when_the_block_ends(steps_running):
    done = []
    with pytest.raises(Interrupted):
        with uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("recorded")
    assert done == ["recorded"] and steps_running.received == ["SIGINT"]
    assert not steps_running.raising    # one Interrupted a run: later signals are held


def test_without_a_signal_the_block_changes_nothing(steps_running):
    with uninterrupted():
        pass
    assert steps_running.raising
    with pytest.raises(Interrupted):
        os.kill(os.getpid(), signal.SIGTERM)


def test_an_error_inside_is_raised_as_it_is(steps_running):
    with pytest.raises(ValueError):
        with uninterrupted():
            raise ValueError("the command failed")
    assert steps_running.raising


def test_outside_a_run_it_does_nothing():
    with uninterrupted():
        pass


def test_a_signal_while_the_experiments_own_code_runs_is_an_interrupt_not_a_bug_in_it(steps_running):
    """The experiment's code (its parameters, its topology, its plan) runs under `except
    Exception`, which reports a bug in it with its file and line: a Ctrl-C landing there
    goes through it (it once made `error: Interrupted: SIGINT`, exit 2)."""
    with pytest.raises(Interrupted):
        built_experiment(object, lambda: os.kill(os.getpid(), signal.SIGINT))


# Ctrl-C while Python imports the harness package (Python's `secrets`, which harness.results
# imports, raises KeyboardInterrupt): what a run's first tenths of a second can meet.
INTERRUPTED_IMPORT = """
import builtins, sys
sys.argv[0] = sys.argv[1]
original = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name == "secrets":
        raise KeyboardInterrupt
    return original(name, *args, **kwargs)
builtins.__import__ = interrupted
import harness
"""


def test_a_ctrl_c_while_python_imports_the_package_for_the_command_is_one_line():
    """`python -m harness`: sys.argv[0] is "-m" while Python imports the package."""
    process = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, "-m"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert (process.returncode, process.stdout, process.stderr) == (130, "", "interrupted\n")


def test_a_ctrl_c_while_a_program_imports_the_package_is_the_programs():
    process = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, "program.py"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert process.returncode != 130 and process.stderr.rstrip().endswith("KeyboardInterrupt")
