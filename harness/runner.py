"""One run of an experiment, as an object with explicit phases:

    prepare   check the machine and the experiment's own code; nothing is created
    enter     claim the machine (state file) and the run folder
    build     the controller app, if any, and the network
    steps     the experiment's steps, each recorded as it ends
    exit      the teardown, in one place and always: network, controller, leftovers,
              state file, final metadata

A signal stops the steps; during `exit` signals are held (see harness.interrupts), so the
teardown always finishes and the outcome in the metadata is the one the command reports.
A SIGKILLed run leaves its state file, from which `harness clean` removes the rest.
"""
import os
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import List, Optional

from .capture import Captures
from .cleanup import STATE_DIR, RunState, remove_run_leftovers
from .containers import Docker, container_name
from .controller import Controller
from .environment import choose_datapath, require_runnable, root_forwarding, versions
from .errors import HarnessError, Interrupted
from .evidence import SwitchLog, keep_evidence, server_log_name
from .experiment import check_experiment_code, experiment_code_error
from .flows import ControllerFlows, OfctlFlows
from .interrupts import Interrupts
from .lab import Lab
from .network import Network
from .results import RunFolder, claim_results_dir, default_results_dir, new_run_id
from .tools import CommandRunner, at_once

FLOW_INSTALLER = "controllers.flow_installer"


@dataclass
class RunResult:
    """How a run ended: outcome is passed, failed (a check failed), no checks (nothing was
    verified), error or interrupted."""
    path: Optional[Path]
    outcome: str
    error: str = ""
    steps: List = field(default_factory=list)


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def outcome_of(steps):
    """passed when every check of every step passed; failed when one did not; `no checks`
    when the steps stated none, since then nothing was verified."""
    checks = [check for step in steps for check in step.checks]
    if not checks:
        return "no checks"
    return "passed" if all(check.passed for check in checks) else "failed"


def _controller_metadata(app):
    from controllers.ryu_api import FRAMEWORK
    return {"app": app, "framework": FRAMEWORK,
            "version": versions()["os_ken"] if FRAMEWORK == "os_ken" else None}


class ExperimentRun:
    """Runs `experiment` (an Experiment, its parameters set) once.

    datapath: auto, kernel or user. flows: ofctl (ovs-ofctl add-flow) or ryu (FlowMods from
    the controller app controllers/flow_installer.py); an experiment with its own
    `controller_app` always runs that app. progress(text) is called with each progress line. wait:
    wait for another run in progress instead of refusing to start. after_step(step, rows,
    network), if given, is called after each step is recorded (the interactive pause).
    meter(what, done, total), if given, is told how far a long action has got (the all-pairs
    probe's waves), for a progress bar. cluster: the names of the servers to run on with
    Mininet Cluster Edition (harness.cluster), None for this machine alone; place: {node:
    server} pinning nodes to servers (the others are placed by SwitchBinPlacer)."""

    def __init__(self, experiment, datapath="auto", results_dir=None, flows="ofctl", wait=False,
                 progress=print, after_step=None, meter=None, cluster=None, place=None):
        self.experiment = experiment
        self.requested_datapath = datapath
        self.results_dir = results_dir if results_dir is not None else default_results_dir()
        self.flows_backend = flows
        self.wait = wait
        self.progress = progress
        self.after_step = after_step
        self.meter = meter or (lambda what, done, total: None)
        self.tools = CommandRunner()
        self.interrupts = None
        self.datapath = self.results = self.topo = None
        self.state = self.folder = self.controller = self.network = self.lab = self.switch_log = None
        self.captures = None
        self.server_logs = {}   # another server's name -> the SwitchLog of its ovs-vswitchd
        self.cluster_servers, self.pins = cluster, place or {}
        self.cluster = None     # the harness.cluster.Cluster of a run on several servers
        self.servers = self.placement = None
        self.containers = {}    # host: its Container, for container hosts
        self.docker = None      # for container hosts: the daemon's state and the images run
        self.metadata = {}
        self.folder_written = False     # metadata.json exists: the run has a folder to show
        self.outcome = "error"
        self.errors = []        # the first is the run's error; later ones came while tearing down

    def execute(self, interrupts):
        """Run through every phase; return the RunResult. `interrupts` is the Interrupts
        in force (the caller's, so that signals stay held while it prints the result).
        Raises HarnessError, before anything is created, if the run cannot start."""
        self.interrupts = interrupts
        interrupts.raising = True
        self.prepare()
        try:
            self.enter()
            self.build()
            self.steps()
            interrupts.raising = False
        except BaseException as problem:     # noqa: B902: every way a run ends is recorded
            interrupts.raising = False
            self._record_problem(problem)
        finally:
            with interrupts.deferred():
                self.exit()
        error = self.errors[0] if self.errors else ""
        if not self.folder_written:     # nothing to show for it: say why as a plain error
            raise Interrupted(self.interrupts.first) if self.outcome == "interrupted" else HarnessError(error)
        return RunResult(self.folder.path, self.outcome, error, self.lab.steps if self.lab else [])

    # -- phases ---------------------------------------------------------------------------

    def prepare(self):
        """Check the machine and the experiment's code (its steps are planned on the
        topology, as `describe` does), choose the datapath and the results folder."""
        nodes = getattr(self.experiment.topology, "ovs_nodes", [])
        if self.pins and not self.cluster_servers:
            raise HarnessError("--place pins nodes to --cluster's servers: give --cluster too")
        if self.flows_backend == "ryu" and nodes:
            raise HarnessError(f"--flows ryu: the bridges of {self.experiment.name}'s OVS nodes ({', '.join(nodes)}) "
                               "run in their own namespaces, out of the controller app's reach; their flows are "
                               "installed with ovs-ofctl (leave --flows out)")
        require_runnable()
        self.datapath = choose_datapath(self.requested_datapath)
        wiring = check_experiment_code(self.experiment, self.datapath.kind).network
        self.topo = wiring.topo     # the Mininet topology, built once: planned on, then run
        self.progress(str(self.datapath))
        self.containers = wiring.containers()
        from .cluster import connections_held
        with connections_held(self.cluster_servers or []):
            if self.cluster_servers:
                self._prepare_cluster(self.topo)
            if self.containers:
                self.docker = self._prepare_docker()
        self.results = claim_results_dir(self.results_dir)

    def _prepare_docker(self):
        """Make the Docker daemon of every server with container hosts (this machine's on
        one) answer, and find the images its containers run: {server's name (None on one
        machine): {"daemon": "running" or "started by this run", "images": {image declared:
        (image to run, its id)}}}."""
        from .cluster import connection_of_our_own
        by_server = {}
        for host, spec in self.containers.items():
            by_server.setdefault(self.placement[host] if self.cluster_servers else None, {})[host] = spec

        def prepare(name, hosts):
            server = next((server for server in self.servers or [] if server.name == name), None)
            with connection_of_our_own(server) if server else nullcontext() as there:
                docker = Docker(there, name if server and not server.local else None)
                return {"daemon": docker.require(self.progress), "images": docker.resolve_images(hosts, self.progress)}
        # Each server's at once (under emulation, building the instance image took 10 s a server)
        return dict(zip(by_server, at_once([partial(prepare, name, hosts) for name, hosts in by_server.items()],
                                           len(by_server))))

    def _prepare_cluster(self, topo):
        """Check what a run on several servers needs, and place the topology's nodes."""
        from .cluster import place, require_ready
        self.placement = place(topo, self.cluster_servers, self.pins)
        # Planned again, placed: an experiment may ask where its switches run (same_vswitchd).
        self.topo = check_experiment_code(self.experiment, self.datapath.kind, self.placement).network.topo
        self.servers = require_ready(self.cluster_servers, versions(), placement=self.placement)
        self.progress("servers: " + ", ".join(
            f"{server.name} ({', '.join(node for node, name in self.placement.items() if name == server.name)})"
            for server in self.servers))

    def enter(self):
        """Claim the machine for this run (its state file) and create its folder."""
        run_id = new_run_id()
        self.state = RunState(run_id, self.experiment.name)
        self.state.create(wait=self.wait, progress=self.progress)
        experiment = self.experiment
        self.metadata = {
            "experiment": experiment.name, "summary": experiment.summary(), "run_id": run_id,
            "parameters": experiment.parameter_values(), "topology": str(experiment.topology),
            "datapath": {"type": self.datapath.kind, "reason": self.datapath.reason},
            "flows": self.flows_backend, "versions": versions(), "root_forwarding": root_forwarding(),
            "started": _now(), "ended": None,
            "outcome": "running", "error": None, "pid": os.getpid(), "hosts": [], "steps": [],
        }
        if self.servers:
            from .cluster import Cluster
            self.cluster = Cluster(self.servers, self.placement, run_id, STATE_DIR)
            self.metadata["cluster"] = self.cluster.metadata()
        if self.docker:
            placement = self.placement if self.cluster else {}
            self.metadata["docker"] = {
                "daemon": {name: docker["daemon"] for name, docker in self.docker.items()} if self.cluster
                else self.docker[None]["daemon"],
                "containers": {host: {"name": container_name(run_id, host), "image": spec.image,
                                      "image_run": self.docker[placement.get(host)]["images"][spec.image][0],
                                      "image_id": self.docker[placement.get(host)]["images"][spec.image][1],
                                      "command": list(spec.command), "capabilities": list(spec.capabilities)}
                               for host, spec in self.containers.items()}}
        self.switch_log = SwitchLog()
        self.server_logs = {server.name: SwitchLog(there=partial(self.cluster.argv, server))
                            for server in (self.cluster.remote() if self.cluster else [])}
        self.folder = RunFolder(self.results / experiment.name / run_id)
        self.folder.write_metadata(self.metadata)
        self.folder_written = True

    def build(self):
        """Start the controller app (if any), then build and verify the network."""
        app = self.experiment.controller_app or (FLOW_INSTALLER if self.flows_backend == "ryu" else None)
        if app:
            self.controller = Controller(app, self.folder.path / "controller.log", self.state)
            self.metadata["controller"] = _controller_metadata(app)
            self.controller.start()
        if self.cluster:
            self.cluster.connect(self.state)
            if self.controller:
                self.metadata["cluster"]["controller_ports"] = \
                    self.cluster.reach_controller(self.controller.openflow_port, self.tools)
        self.network = Network(self.topo, self.datapath.kind, self.state.run_id,
                               self.tools, self.state,
                               controller_target=self.controller.target if self.controller else None,
                               meter=self.meter, node_logs=self.folder.path / "nodes",
                               images={name: docker["images"] for name, docker in (self.docker or {}).items()},
                               cluster=self.cluster)
        switches = len(self.network.switches())
        self.progress(f"building the network: {len(self.network.hosts())} hosts, "
                      f"{switches} switch{'' if switches == 1 else 'es'}")
        self.network.start()
        self.progress(f"network up in {self.network.build_seconds:.1f} s")
        self.metadata.update(hosts=self.network.hosts(), build_seconds=round(self.network.build_seconds, 3))
        if self.controller:
            self.controller.wait_connected(self.network.dpids().values())
            self.network.arm_controller_probes()
        if self.flows_backend == "ryu":
            flows = ControllerFlows(self.tools, self.network, self.controller)
        else:
            flows = OfctlFlows(self.tools, self.network)
        self.captures = Captures(self.folder.path, self.tools, self.state)
        self.lab = Lab(self.network, self.tools, flows, self.captures, self.controller,
                       on_step_end=self._record_step, progress=self.progress, meter=self.meter)

    def steps(self):
        """Run the experiment's steps; fail the run if the controller app or ovs-vswitchd
        logged an error the experiment did not expect."""
        self.experiment.run(self.lab)
        self.outcome = outcome_of(self.lab.steps)
        self.require_quiet_logs()

    def require_quiet_logs(self):
        """Raise HarnessError if the controller app logged an error, or ovs-vswitchd a
        warning the experiment did not expect (see harness.evidence)."""
        problems = self.controller.problems() if self.controller else []
        if problems:
            raise HarnessError(f"the controller app logged {len(problems)} error(s): "
                               f"{' | '.join(problems[:3])} (see {self.controller.log_path})")
        expected = self.experiment.expected_switch_warnings
        logs = [("ovs-vswitchd", "evidence/ovs-vswitchd.log", self.switch_log)] + [
            (f"{server}'s ovs-vswitchd", f"evidence/{server_log_name(server)}", log)
            for server, log in self.server_logs.items()] + [
            (f"{node}'s ovs-vswitchd", f"nodes/{node}/ovs-vswitchd.log", ovs.switch_log())
            for node, ovs in self.network.ovs.items()]
        for daemon, kept, log in logs:
            warnings = log.unexpected_warnings(expected)
            if warnings:
                raise HarnessError(f"{daemon} logged {len(warnings)} warning(s) the experiment did not expect, "
                                   f"first: {warnings[0]} (its log of the run is in {kept}; an experiment "
                                   "that expects a warning lists it in expected_switch_warnings)")

    def exit(self):
        """Keep the evidence of a run that failed or broke, while its network stands; then
        tear down what the run made, in this order, each part whatever the others did: the
        network (Mininet), the controller app, whatever is left (cleanup), the state file;
        then finish writing the tables, and write the final metadata and transcript."""
        if self.outcome in ("failed", "error") and self.network is not None and self.network.net is not None:
            self._tear_down("could not keep the evidence", self._keep_evidence)
        self.tools.transcript.step = "teardown"
        if self.captures is not None:
            self._tear_down("the packet captures could not be stopped", self.captures.stop)
        if self.network is not None:
            self._tear_down("the network could not be stopped", self.network.stop)
        if self.controller is not None:
            self._tear_down("the controller app could not be stopped", self.controller.stop)
        if self.state is not None and self.state.exists():
            if self._tear_down(None, self._remove_leftovers):
                self.state.remove()
        if self.cluster is not None:
            self._tear_down("the ssh connections could not be closed", self.cluster.disconnect)
        if self.interrupts.first and self.outcome in ("passed", "failed", "no checks"):
            self.outcome = "interrupted"    # the exit status says so: the metadata must too
            self.errors.insert(0, f"interrupted by {self.interrupts.first} after its steps had finished")
        if self.folder_written:
            try:
                self.folder.close()
            except HarnessError as problem:     # a step's tables could not be written
                self._record_problem(problem)
            self._write_progress(ended=_now(), outcome=self.outcome)

    # -- helpers --------------------------------------------------------------------------

    def _keep_evidence(self):
        self.metadata["evidence"] = str(keep_evidence(self.network, self.tools, self.folder.path, self.switch_log,
                                                      self.server_logs).relative_to(self.folder.path))

    def _remove_leftovers(self):
        self.metadata["removed_after_mininet"] = remove_run_leftovers(self.state.read(), self.tools)

    def _tear_down(self, what, action):
        """Do one part of the teardown; keep (never raise) what went wrong. Returns success."""
        try:
            action()
            return True
        except Exception as problem:
            text = f"{what}: {problem}" if what else str(problem)
            self.errors.append(f"teardown: {text}")
            self.progress(f"teardown: {text}")
            return False

    def _record_problem(self, problem):
        """Turn how the run stopped into its outcome and (first) error."""
        if isinstance(problem, (Interrupted, KeyboardInterrupt)):
            self.outcome = "interrupted"
            self.errors.append(f"interrupted by {str(problem) or 'SIGINT'}")
            if problem.__context__ is not None and not isinstance(problem.__context__, Interrupted):
                self.errors.append(f"while handling: {problem.__context__}")
        elif isinstance(problem, Exception):
            self.outcome = "error"
            self.errors.append(experiment_code_error(problem, self.experiment))
            if not isinstance(problem, HarnessError):   # the experiment's own code failed
                self.metadata["traceback"] = traceback.format_exc()
        else:
            raise problem

    def _record_step(self, step):
        __tracebackhide__ = True    # for the pytest plugin: a failed step shows the test's line
        rows = self.folder.add_step(self.state.run_id, step, self.network.host_named)
        self._write_progress()
        result = f"{step.passed_count}/{len(step.checks)} checks passed" if step.finished else "did not finish"
        self.progress(f"step {step.index} {step.name!r}: {result}")
        if self.after_step:
            with self.interrupts.python_default_sigint():
                self.after_step(step, rows, self.network)

    def _write_progress(self, **final):
        """Write metadata.json and transcript.txt as they stand (after every step, and at
        the end with `final`: ended, outcome). A failure to write (disk full) is a
        HarnessError; at the end, after the teardown, it is the command's error."""
        steps = self.lab.steps if self.lab else []
        if self.lab:
            self.metadata.update(configuration=self.lab.configuration, captures=self.captures.metadata())
        if self.cluster and self.network is not None:
            self.metadata["cluster"]["tunnels"] = self.network.tunnels()     # a move may have made one
        self.metadata.update(
            **final, error=self.errors[0] if self.errors else None,
            later_errors=self.errors[1:],
            steps=[{"index": step.index, "name": step.name, "checks": len(step.checks),
                    "passed": step.passed_count, "snapshots": step.snapshot_count,
                    "snapshot_seconds": round(step.snapshot_seconds, 4)} for step in steps])
        self.folder.write_transcript(self.tools.transcript.render())
        self.folder.write_metadata(self.metadata)


def run_experiment(experiment, datapath="auto", results_dir=None, progress=print, wait=False,
                   after_step=None, flows="ofctl", interrupts=None, meter=None, cluster=None, place=None):
    """Run `experiment` once (see ExperimentRun); return its RunResult. `interrupts`: the
    caller's Interrupts, if it installed them around more than the run."""
    run = ExperimentRun(experiment, datapath=datapath, results_dir=results_dir, flows=flows,
                        wait=wait, progress=progress, after_step=after_step, meter=meter,
                        cluster=cluster, place=place)
    if interrupts is not None:
        return run.execute(interrupts)
    with Interrupts() as own:
        return run.execute(own)
