"""The pytest plugin (entry point `ovs_harness` in `pytest11`: installing the project is
enough). OVS behaviour as tests in a project's own CI:

- every subclass of harness.Experiment defined in a test module is a test item: it runs as
  `python -m harness run` would, and fails with its failed checks and its run folder;
- the `ovs_lab` fixture gives a test a Lab on a topology it names, whose failed checks
  raise AssertionError when their step ends;
- both need root and Open vSwitch: without them they are skipped, saying why, and the
  summary counts them, so the project's other tests still run on a laptop;
- each check is a property of its test in JUnit XML (`--junitxml`);
- options: --ovs-datapath, --ovs-flows, --ovs-results, --ovs-keep-failed, --ovs-repeat,
  --ovs-interactive-on-failure, --ovs-cluster and --ovs-place (every network across servers,
  as `run --cluster ... --place ...`).
"""
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .errors import HarnessError

SKIPPED_KEY = pytest.StashKey[list]()


def pytest_addoption(parser):
    group = parser.getgroup("ovs-harness", "ovs-harness: experiments on real Open vSwitch")
    group.addoption("--ovs-datapath", choices=("auto", "kernel", "user"), default="auto",
                    help="the datapath experiments run on (default: auto)")
    group.addoption("--ovs-flows", choices=("ofctl", "ryu"), default="ofctl",
                    help="how flows are installed: ovs-ofctl, or FlowMods from the os-ken app")
    group.addoption("--ovs-results", metavar="DIR", default=None,
                    help="keep the run folders in DIR (default: pytest's temporary folder)")
    group.addoption("--ovs-keep-failed", action="store_true",
                    help="keep only the folders of runs that did not pass")
    group.addoption("--ovs-repeat", type=int, default=1, metavar="N",
                    help="run each experiment N times; fail if a counter differs between runs")
    group.addoption("--ovs-interactive-on-failure", action="store_true",
                    help="open Mininet's CLI after a step whose checks failed (needs a terminal and -s)")
    group.addoption("--ovs-cluster", metavar="SERVER[,SERVER...]", default=None,
                    help="build every network across these servers (Mininet Cluster Edition, as `run --cluster`)")
    group.addoption("--ovs-place", action="append", default=[], metavar="NODE=SERVER",
                    help="with --ovs-cluster: run NODE on SERVER (repeatable)")


def pytest_configure(config):
    config.addinivalue_line("markers", "ovs: builds real networks on Open vSwitch (needs root and OVS; "
                                       "skipped without them)")
    config.stash[SKIPPED_KEY] = []
    # Mininet 2.3 compares OVS versions with distutils: not the user's warning to read.
    config.addinivalue_line("filterwarnings", "ignore:distutils Version classes are deprecated:DeprecationWarning")
    if config.getoption("--ovs-repeat") < 1:
        raise pytest.UsageError("--ovs-repeat must be at least 1")
    try:
        _cluster(config)
    except HarnessError as wrong:
        raise pytest.UsageError(str(wrong)) from None


def _cluster(config):
    """{"cluster": servers, "place": pins} of --ovs-cluster and --ovs-place, for run and LabSession
    (which refuse pins without servers, as `run` does)."""
    from .cluster import parse_placement, parse_servers
    servers = config.getoption("--ovs-cluster")
    return {"cluster": parse_servers(servers) if servers is not None else None,
            "place": parse_placement(config.getoption("--ovs-place"))}


@functools.lru_cache(maxsize=None)
def ovs_unavailable():
    """Why experiments cannot run here (not root, no Open vSwitch), or "" when they can."""
    if os.geteuid() != 0:
        return "needs root: experiments build real networks on Open vSwitch"
    try:
        subprocess.run(["ovs-vsctl", "--timeout=5", "show"], capture_output=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "Open vSwitch is not running (start it, e.g. with the project's setup.sh)"
    return ""


def pytest_runtest_setup(item):
    if item.get_closest_marker("ovs"):
        reason = ovs_unavailable()
        if reason:
            item.config.stash[SKIPPED_KEY].append(item.nodeid)
            pytest.skip(reason)


def pytest_terminal_summary(terminalreporter, config):
    skipped = config.stash.get(SKIPPED_KEY, [])
    if skipped:
        terminalreporter.write_line(f"ovs-harness: {len(skipped)} test(s) skipped: {ovs_unavailable()}")


def _results_dir(config):
    """Where the runs of this session go."""
    chosen = config.getoption("--ovs-results")
    return Path(chosen) if chosen else config._tmp_path_factory.getbasetemp() / "ovs-runs"


def _forget_if_passed(config, folder, passed):
    """With --ovs-keep-failed, delete a passing run's folder."""
    if passed and folder is not None and config.getoption("--ovs-keep-failed"):
        shutil.rmtree(folder, ignore_errors=True)


def _pause_on_failure(config):
    """The after_step hook for --ovs-interactive-on-failure: Mininet's CLI after a step
    whose checks failed, when a terminal is attached and pytest does not capture output."""
    if not (config.getoption("--ovs-interactive-on-failure") and sys.stdin.isatty()
            and config.getoption("capture") == "no"):
        return None
    from .cli import pause_in_mininet_cli

    def pause(step, rows, network):
        if not all(check.passed for check in step.checks):
            pause_in_mininet_cli(step, rows, network)
    return pause


@pytest.fixture
def ovs_lab(request):
    """ovs_lab(topology, name="ovs_lab") -> a Lab on a freshly built network (the `lab` an
    experiment's run gets: lab.step, lab.ping, lab.check...). A step whose checks fail
    raises AssertionError when it ends, with the failed rows and the run folder. The
    network is torn down after the test, whatever happened."""
    from .api import LabSession
    request.node.add_marker(pytest.mark.ovs)
    reason = ovs_unavailable()
    if reason:
        request.config.stash[SKIPPED_KEY].append(request.node.nodeid)
        pytest.skip(reason)
    config = request.config
    sessions = []

    def build(topology, name="ovs_lab"):
        session = LabSession(topology, name=name, datapath=config.getoption("--ovs-datapath"),
                             flows=config.getoption("--ovs-flows"), results_dir=_results_dir(config),
                             **_cluster(config))
        sessions.append(session)
        return session.open()

    yield build
    failed = getattr(request.node, "_ovs_failed", True)
    for session in sessions:
        _forget_if_passed(config, session.close(), passed=not failed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call":
        item._ovs_failed = outcome.get_result().failed


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector, name, obj):
    """An Experiment subclass defined in a test module (with its own `run`) is a test item;
    `__test__ = False` on the class opts out, as for any pytest class."""
    from .experiment import Experiment
    if (isinstance(obj, type) and issubclass(obj, Experiment) and obj is not Experiment
            and obj.__module__ == getattr(collector.obj, "__name__", None)
            and obj.run is not Experiment.run and getattr(obj, "__test__", True)):
        return ExperimentItem.from_parent(collector, name=name, experiment=obj)
    return None


class ExperimentFailed(Exception):
    """An experiment item's run did not pass; the message says why."""


class ExperimentItem(pytest.Item):
    """One experiment class, run (--ovs-repeat times) as `python -m harness run` runs it."""

    def __init__(self, *, experiment, **kwargs):
        super().__init__(**kwargs)
        self.experiment = experiment
        self.add_marker(pytest.mark.ovs)

    def runtest(self):
        from .analysis import counter_spread
        from .api import failed_checks_text, run
        config = self.config
        runs = []
        for _ in range(config.getoption("--ovs-repeat")):
            try:
                result = run(self.experiment, datapath=config.getoption("--ovs-datapath"),
                             flows=config.getoption("--ovs-flows"), results_dir=_results_dir(config),
                             after_step=_pause_on_failure(config), **_cluster(config))
            except HarnessError as refused:
                raise ExperimentFailed(f"not run: {refused}") from None
            runs.append(result)
            for row in result.checks.itertuples():
                verdict = "passed" if row.passed else f"FAILED: expected {row.expected}, observed {row.observed}"
                self.user_properties.append((f"check {row.step_index} {row.step}: {row.name}", verdict))
            outcome = result.metadata["outcome"]
            if outcome != "passed":
                failed = result.checks[~result.checks["passed"]]
                rows = failed[["step", "name", "expected", "observed", "description"]].itertuples(index=False)
                error = result.metadata.get("error")
                raise ExperimentFailed(
                    f"{outcome}" + (f": {error}" if error else "") + "\n" + failed_checks_text(rows) +
                    f"\nrun folder: {result.path}")
        if len(runs) > 1:
            spread = counter_spread(runs)
            varying = spread[spread["variance"] > 0]
            if len(varying):
                raise ExperimentFailed(
                    f"counters differ between the {len(runs)} runs:\n" + "\n".join(
                        f"step {row.step!r}: {row.counter} {row.item}: {row.min:g} to {row.max:g}"
                        for row in varying.itertuples()) + f"\nrun folders: {', '.join(str(r.path) for r in runs)}")
        for result in runs:
            _forget_if_passed(config, result.path, passed=True)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ExperimentFailed):
            return f"{self.experiment.__name__}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"experiment {self.experiment.__name__}"
