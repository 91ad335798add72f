"""Benchmark: the cost of a snapshot (flows, MAC table and ports of every switch, parsed into
rows) against the raw commands typed by hand, for one switch with N learned hosts, N in 3,
64 and 254.

Runs bench/experiments/snapshot_cost.py, whose steps send nothing: each step's snapshot (its
`snapshot_seconds` in the metadata) is timed beside `ovs-ofctl dump-flows`, `ovs-appctl
fdb/show` and `ovs-ofctl dump-ports` run by hand on the same switch. Prints medians, their
ratio and pass/miss against the target (under 0.5 s at 254 hosts). Run as root from the checkout:

    sudo .venv/bin/python bench/snapshot_cost.py [--repeats 5] [--sizes 3 64 254]
"""
import argparse
import statistics
import sys
import tempfile

from common import describe_machine, timed
from harness import load_run

TARGET_SECONDS, TARGET_HOSTS = 0.5, 254


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 64, 254])
    args = parser.parse_args()
    print(describe_machine(f"userspace datapath, {args.repeats} snapshots of each kind per network"))
    print(f"{'hosts':>5}  {'harness snapshot':>16}  {'raw commands':>12}  ratio")
    for hosts in args.sizes:
        with tempfile.TemporaryDirectory() as results:
            _seconds, output = timed([sys.executable, "-m", "harness", "run", "bench/experiments/snapshot_cost.py",
                                      "-p", f"hosts={hosts}", "-p", f"repeats={args.repeats}", "--datapath", "user",
                                      "--results-dir", results])
            run = load_run(output.splitlines()[-1])
        harness = statistics.median(step["snapshot_seconds"] for step in run.metadata["steps"][1:])
        raw = run.measurements["value"].median()
        verdict = f"  {'pass' if harness < TARGET_SECONDS else 'miss'} against under {TARGET_SECONDS:g} s" \
            if hosts == TARGET_HOSTS else ""
        print(f"{hosts:>5}  {harness:15.3f}s  {raw:11.3f}s  {harness / raw:5.2f}{verdict}")


if __name__ == "__main__":
    main()
