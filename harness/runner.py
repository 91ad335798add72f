"""One run of an experiment: check the machine, build the network, run the steps, record
everything, and tear the network down whatever happens (exception, failed check, Ctrl-C,
SIGTERM). A SIGKILLed run leaves its state file, from which `harness clean` removes the rest.
"""
import os
import signal
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from .cleanup import RunState, remove_run_leftovers
from .controller import Controller
from .environment import choose_datapath, require_runnable, versions
from .errors import HarnessError, Interrupted
from .flows import ControllerFlows, OfctlFlows
from .lab import Lab
from .network import Network
from .results import DEFAULT_RESULTS_DIR, RunFolder, claim_results_dir, new_run_id
from .tools import Tools

TERMINATING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class RunResult:
    """How a run ended: outcome is passed, failed (a check failed), error or interrupted."""
    path: Path
    outcome: str
    error: str = ""
    steps: List = field(default_factory=list)


@contextmanager
def _signals_interrupt():
    """Turn SIGTERM and SIGHUP into Interrupted, as Ctrl-C is KeyboardInterrupt, so the
    teardown in `finally` runs for them too."""
    def interrupt(signum, _frame):
        raise Interrupted(signal.Signals(signum).name)
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _signals_deferred():
    """Hold terminating signals while tearing down: a second Ctrl-C must not leave a mess."""
    signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, TERMINATING_SIGNALS)


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _outcome(steps):
    return "passed" if all(step.passed == len(step.checks) for step in steps) else "failed"


FLOW_INSTALLER = "controllers.flow_installer"


def _controller_metadata(app):
    from controllers.ryu_api import FRAMEWORK
    return {"app": app, "framework": FRAMEWORK,
            "version": versions()["os_ken"] if FRAMEWORK == "os_ken" else None}


def _flow_backend(flows, tools, network, controller):
    """Return the object that installs the experiment's flows (see harness.flows)."""
    if flows == "ryu":
        return ControllerFlows(tools, network.switches(), controller, network.dpids())
    return OfctlFlows(tools, network.switches())


def run_experiment(experiment, datapath="auto", results_dir=DEFAULT_RESULTS_DIR, say=print,
                   wait=False, after_step=None, flows="ofctl"):
    """Run `experiment` (an Experiment, its parameters set) once; return its RunResult.

    datapath: auto, kernel or user. flows: ofctl (ovs-ofctl add-flow) or ryu (FlowMods from
    the controller app controllers/flow_installer.py); an experiment with its own
    `controller_app` always runs that app. say(text) is called with progress lines. wait: wait for
    another run in progress instead of refusing to start. after_step(step, rows, network),
    if given, is called after each step is recorded, with the step's table rows (the
    interactive mode's pause).
    Raises HarnessError before anything is created if the machine cannot run it."""
    require_runnable()
    chosen = choose_datapath(datapath)
    say(str(chosen))
    results = claim_results_dir(results_dir)
    run_id = new_run_id()
    state = RunState(run_id, experiment.name)
    state.create(wait=wait, say=say)
    metadata = {
        "experiment": experiment.name, "summary": experiment.summary(), "run_id": run_id,
        "parameters": experiment.parameter_values(), "topology": str(experiment.topology),
        "datapath": {"type": chosen.kind, "reason": chosen.reason}, "flows": flows,
        "versions": versions(), "started": _now(), "ended": None, "outcome": "running",
        "error": None, "pid": os.getpid(), "hosts": [], "steps": [],
    }
    try:
        folder = RunFolder(results / experiment.name / run_id)
        folder.write_metadata(metadata)
    except HarnessError:
        state.remove()
        raise
    tools = Tools()
    app = experiment.controller_app or (FLOW_INSTALLER if flows == "ryu" else None)
    controller = Controller(app, folder.path / "controller.log") if app else None
    network = Network(experiment.topology.build(), chosen.kind, run_id, tools, state,
                      controller_target=controller.target if controller else None)
    lab = None
    outcome, error = "error", ""

    def record_step(step):
        rows = folder.add_step(run_id, step, lab.hosts_by_mac)
        result = f"{step.passed}/{len(step.checks)} checks passed" if step.finished else "did not finish"
        say(f"step {step.index} {step.name!r}: {result}")
        if after_step:
            after_step(step, rows, network)

    with _signals_interrupt():
        try:
            if controller:
                metadata["controller"] = _controller_metadata(app)
                state.update(controller_pid=controller.start())
            network.start()
            metadata.update(hosts=network.hosts(), build_seconds=round(network.build_seconds, 3))
            if controller:
                controller.wait_connected(network.dpids().values())
            lab = Lab(network, tools, _flow_backend(flows, tools, network, controller), controller,
                      on_step_end=record_step)
            experiment.run(lab)
            outcome = _outcome(lab.steps)
            problems = controller.problems() if controller else []
            if problems:
                raise HarnessError(f"the controller app logged {len(problems)} error(s): "
                                   f"{' | '.join(problems[:3])} (see {controller.log_path})")
        except (Interrupted, KeyboardInterrupt) as stop:
            outcome, error = "interrupted", f"interrupted by {str(stop) or 'SIGINT'}"
        except HarnessError as problem:
            outcome, error = "error", str(problem)
        except Exception as problem:  # the experiment's own code failed: keep its traceback
            outcome, error = "error", f"{type(problem).__name__}: {problem}"
            metadata["traceback"] = traceback.format_exc()
        finally:
            with _signals_deferred():
                tools.transcript.step = "teardown"
                try:
                    network.stop()
                except Exception as problem:  # e.g. OVS gone: what is left is removed below
                    metadata["teardown_problem"] = f"Mininet could not stop the network: {problem}"
                if controller:
                    controller.stop()
                try:
                    metadata["removed_after_mininet"] = remove_run_leftovers(state.read(), tools)
                    state.remove()
                except HarnessError as problem:  # the state file stays, for `harness clean`
                    metadata["teardown_problem"] = str(problem)
                    say(f"teardown: {problem}")
                finally:
                    steps = lab.steps if lab else []
                    metadata.update(
                        ended=_now(), outcome=outcome, error=error or None,
                        steps=[{"index": step.index, "name": step.name,
                                "checks": len(step.checks), "passed": step.passed,
                                "snapshots": step.snapshots,
                                "snapshot_seconds": round(step.snapshot_seconds, 4)}
                               for step in steps])
                    folder.write_transcript(tools.transcript.render())
                    folder.write_metadata(metadata)
    return RunResult(folder.path, outcome, error, steps)
