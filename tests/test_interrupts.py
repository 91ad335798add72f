"""A signal during a run's steps is raised where it lands, except inside `uninterrupted()`
(starting a process and recording it): there it waits for the block's end."""
import os
import signal

import pytest

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
