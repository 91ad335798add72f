"""What an experiment will do, without running it: the steps, actions and checks shown by
`python -m harness describe NAME`.

`Plan` stands in for the Lab: the experiment's own `run` is called on it, and each action and
check is written down instead of done, so the plan is always the experiment's real code."""
from contextlib import contextmanager

from .checks import CheckBook


class _PlannedFlows:
    def __init__(self, plan):
        self._plan = plan

    def add(self, switch, flow):
        self._plan.note("flow", f"ovs-ofctl add-flow {switch} {flow}")


class Plan:
    """Records an experiment's steps: `steps` is [(step name, [(kind, text), ...])]."""

    def __init__(self):
        self.steps = []
        self.flows = _PlannedFlows(self)
        self.check = CheckBook({}, lambda check: self.note("check", f"{check.name} ({check.description})"))

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


def plan_of(experiment):
    """Return the Plan of `experiment` (an Experiment with its parameters set)."""
    plan = Plan()
    experiment.run(plan)
    return plan
