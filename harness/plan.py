"""What an experiment will do, without running it: the steps, actions and checks shown by
`python -m harness describe NAME`.

`Plan` stands in for the Lab: the experiment's own `run` is called on it, and each action and
check is written down instead of done, so the plan is always the experiment's real code."""
from contextlib import contextmanager

from .checks import CheckBook
from .environment import mininet_problem
from .errors import HarnessError
from .topology import Wiring


class _PlannedFlows:
    def __init__(self, plan):
        self._plan = plan

    def add(self, switch, flow):
        self._plan.note("flow", f"ovs-ofctl add-flow {switch} {flow}")


class Plan:
    """Records an experiment's steps: `steps` is [(step name, [(kind, text), ...])].

    `network` answers what is linked to what (a Wiring of the experiment's topology), as
    the running network would."""

    build_seconds = None    # known once a network is built

    def __init__(self, topology):
        self.steps = []
        self.flows = _PlannedFlows(self)
        self.check = CheckBook({}, lambda check: self.note("check", f"{check.name} ({check.description})"))
        self._topology = topology
        self._wiring = None

    @property
    def network(self):
        if self._wiring is None:
            try:
                self._wiring = Wiring(self._topology.build())
            except ImportError:
                raise HarnessError(mininet_problem()) from None
        return self._wiring

    def note(self, kind, text):
        if not self.steps:
            self.steps.append(("before the first step", []))
        self.steps[-1][1].append((kind, text))

    @contextmanager
    def step(self, name):
        self.steps.append((name, []))
        yield

    def ping(self, src, dst, count=2, timeout=1):
        self.note("ping", f"{src} ping -c {count} {dst}")

    def trace_ping(self, switch, src, dst):
        self.note("trace", f"ovs-appctl ofproto/trace {switch}: {src} > {dst} echo request and its reply")

    def static_arp(self):
        self.note("arp", "every host gets a permanent ARP entry for every other host")

    def reachability(self):
        self.note("probe", "every host pings every other host (fping, one per source host)")

    def announce_hosts(self):
        self.note("send", "every host sends one broadcast frame, all at once")

    def measure(self, name, value, unit=""):
        self.note("measure", name)


def plan_of(experiment):
    """Return the Plan of `experiment` (an Experiment with its parameters set)."""
    plan = Plan(experiment.topology)
    experiment.run(plan)
    return plan
