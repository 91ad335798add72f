"""ovs-harness: reproducible Open vSwitch experiments on real Mininet networks.

In a notebook: `from harness import load_run; run = load_run(path)` gives run.flows, run.fdb,
run.ports, run.pings, run.checks (DataFrames) and run.metadata (a dict).
"""
from .experiment import Experiment
from .parameters import Parameter
from .topology import Linear, Link, SingleSwitch, Topology, Tree

__all__ = ["Experiment", "Linear", "Link", "Parameter", "SingleSwitch", "Topology", "Tree", "load_run"]


def __getattr__(name):
    """`load_run` is imported when first asked for: it brings pandas, which `python -m
    harness` should load only inside its own start-up, where a Ctrl-C is one clean line."""
    if name == "load_run":
        from .results import load_run
        return load_run
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
