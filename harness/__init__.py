"""ovs-harness: reproducible Open vSwitch experiments on real Mininet networks.

In a notebook: `from harness import load_run; run = load_run(path)` gives run.flows, run.fdb,
run.ports, run.pings, run.checks (DataFrames) and run.metadata (a dict); `harness.run(
experiment, **parameters)` runs one (see harness.api) and returns the same.
"""
import sys


def exit_interrupted():
    """End `python -m harness`, interrupted before it had started anything, as it ends any
    interrupted command: one line and status 130."""
    print("interrupted", file=sys.stderr)
    sys.exit(130)


try:
    from .containers import Container
    from .experiment import Experiment
    from .parameters import Parameter
    from .topology import Linear, Link, SingleSwitch, Topology, Tree
except KeyboardInterrupt:
    # Python imports this package before it runs __main__, whose own Ctrl-C handling has not
    # begun: while it does, sys.argv[0] is "-m". Imported by anything else, the Ctrl-C is
    # the importer's.
    if sys.argv[:1] != ["-m"]:
        raise
    exit_interrupted()

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
