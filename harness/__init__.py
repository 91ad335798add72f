"""ovs-harness: reproducible Open vSwitch experiments on real Mininet networks.

In a notebook: `from harness import load_run; run = load_run(path)` gives run.flows, run.fdb,
run.ports, run.pings, run.checks (DataFrames) and run.metadata (a dict).
"""
from .experiment import Experiment
from .parameters import Parameter
from .results import load_run
from .topology import Linear, SingleSwitch, Tree

__all__ = ["Experiment", "Linear", "Parameter", "SingleSwitch", "Tree", "load_run"]
