"""ovs-harness: reproducible Open vSwitch experiments on real Mininet networks.

In a notebook: `from harness import load_run; run = load_run(path)` gives run.flows, run.fdb,
run.ports, run.pings, run.checks (DataFrames) and run.metadata (a dict); `harness.run(
experiment, **parameters)` runs one (see harness.api) and returns the same.
"""
from .containers import Container
from .experiment import Experiment
from .parameters import Parameter
from .topology import Linear, Link, SingleSwitch, Topology, Tree

__all__ = ["Container", "Experiment", "Linear", "Link", "Parameter", "SingleSwitch", "Topology", "Tree", "load_run", "run"]


def __getattr__(name):
    """`load_run` and `run` are imported when first asked for: they bring pandas, which
    `python -m harness` should load only inside its own start-up, where a Ctrl-C is one
    clean line."""
    if name == "load_run":
        from .results import load_run
        return load_run
    if name == "run":
        from .api import run
        return run
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
