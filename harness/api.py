"""Running experiments from Python: `harness.run`, the same run as `python -m harness run`,
returning the loaded run; and `LabSession`, a lab whose steps the caller writes itself (the
pytest plugin's `ovs_lab` fixture), built and torn down with the same guarantees."""
import inspect
import re

from .errors import HarnessError
from .experiment import Experiment, built_experiment, find_experiment
from .interrupts import Interrupts
from .results import as_text, load_run
from .runner import ExperimentRun, outcome_of, run_experiment


def experiment_class(experiment):
    """Return the Experiment subclass `experiment` names: the class itself, or the name of
    one in experiments/ or the path of a .py file (as `run` takes). A class found any other
    way is named after its module (or itself), for its results folder."""
    if isinstance(experiment, str):
        return find_experiment(experiment)
    if not (inspect.isclass(experiment) and issubclass(experiment, Experiment) and experiment is not Experiment):
        raise HarnessError(f"not an experiment: {experiment!r} (give a subclass of harness.Experiment, "
                           "or an experiment's name or file)")
    if vars(experiment).get("name") is None:
        experiment.name = re.sub(r"(?<!^)(?=[A-Z])", "_", experiment.__name__).lower()
    return experiment


def configured(cls, parameters):
    """Return an instance of experiment class `cls` with `parameters` set (HarnessError,
    one line, for a wrong one or a bug in the experiment's parameter code)."""
    return built_experiment(cls, lambda: cls(**parameters))


def run(experiment, *, datapath="auto", flows="ofctl", results_dir=None, progress=None, after_step=None,
        cluster=None, place=None, **parameters):
    """Run `experiment` (a class, or an experiment's name or file) once with `parameters`,
    exactly as `python -m harness run` does: the same checks, folder, teardown and refusals
    (HarnessError, before anything is built, for what the command line refuses). Returns
    the run read back (harness.results.Run: .checks, .flows, .metadata, ...); its
    metadata's "outcome" says passed, failed, no checks, error or interrupted. cluster: the
    servers to run on (a list of names, as `--cluster`), place: {node: server} (as `--place`)."""
    instance = configured(experiment_class(experiment), parameters)
    result = run_experiment(instance, datapath=datapath, results_dir=results_dir, flows=flows,
                            progress=progress or (lambda text: None), after_step=after_step,
                            cluster=cluster, place=place)
    return load_run(result.path)


class StepFailed(AssertionError):
    """A step of a LabSession ended with failed checks; the message is their table rows."""


def failed_checks_text(checks):
    """One line per failed check, (step, name, expected, observed, why), as the checks
    table shows it."""
    return "\n".join(f"step {step!r}: {name}: expected {as_text(expected)}, observed {as_text(observed)} "
                     f"(why: {why})" for step, name, expected, observed, why in checks)


class LabSession:
    """A lab on a freshly built network, whose steps the caller writes itself: `open()`
    builds the topology and returns the Lab (the same one an experiment's `run` gets);
    a step whose checks fail raises StepFailed when it ends; `close()` tears everything
    down, as a run does, and returns the run folder. cluster and place: as for `run`."""

    def __init__(self, topology, name="ovs_lab", datapath="auto", flows="ofctl", results_dir=None,
                 cluster=None, place=None):
        experiment = type("Session", (Experiment,), {
            "__doc__": "steps written by the caller", "topology": topology, "run": lambda self, lab: None})
        experiment.name = name
        self._run = ExperimentRun(experiment(), datapath=datapath, results_dir=results_dir, flows=flows,
                                  progress=lambda text: None, after_step=self._after_step,
                                  cluster=cluster, place=place)
        self._run.interrupts = Interrupts()     # not installed: the caller owns its signals

    def open(self):
        """Build the network; return the Lab."""
        run = self._run
        run.prepare()
        try:
            run.enter()
            run.build()
        except BaseException as problem:
            run._record_problem(problem)
            self.close()
            raise HarnessError(run.errors[0]) from None
        return run.lab

    def _after_step(self, step, rows, network):
        __tracebackhide__ = True    # pytest shows the test's line, not the harness's
        failed = [(step.name, check.name, check.expected, check.observed, check.description)
                  for check in step.checks if not check.passed]
        if step.finished and failed:
            raise StepFailed(f"{failed_checks_text(failed)}\nrun folder: {self._run.folder.path}")

    def close(self, problem=None):
        """Tear down what was built; keep the results. `problem`: the exception that ended
        the caller's steps, if any, recorded as the run's error. Returns the run folder."""
        run = self._run
        if run.lab is not None and not run.errors:
            run.outcome = outcome_of(run.lab.steps)
            try:
                run.require_quiet_logs()
            except HarnessError as noisy:
                run._record_problem(noisy)
        if problem is not None and not isinstance(problem, StepFailed):
            run._record_problem(problem)
        with run.interrupts.deferred():     # a Ctrl-C now waits for the teardown
            run.exit()
        return run.folder.path if run.folder else None
