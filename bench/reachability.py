"""Benchmark: all-pairs reachability, the harness's parallel probe (one fping per source
host, all at once) against Mininet's pingAll, on the same network in one run, for N in 8,
32 and 64 hosts on one switch.

Runs bench/experiments/reachability_vs_pingall.py, which alternates the two probes
--repeats times after one warm-up probe, and prints the medians of its measurements and
their ratio. Run as root from the checkout:

    sudo .venv/bin/python bench/reachability.py [--repeats 3] [--sizes 8 32 64]
"""
import argparse
import sys
import tempfile

from common import describe_machine, timed
from harness import load_run

TARGET_RATIO, TARGET_HOSTS = 15, 64     # pingAll's time over the harness's, at 64 hosts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 64])
    args = parser.parse_args()
    print(describe_machine(f"userspace datapath, {args.repeats} probes of each kind per network"))
    print(f"{'hosts':>5}  {'pairs':>5}  {'harness':>8}  {'pingAll':>8}  pingAll / harness")
    for hosts in args.sizes:
        with tempfile.TemporaryDirectory() as results:
            _seconds, output = timed([sys.executable, "-m", "harness", "run",
                                      "bench/experiments/reachability_vs_pingall.py", "-p", f"hosts={hosts}",
                                      "-p", f"repeats={args.repeats}", "--datapath", "user",
                                      "--results-dir", results])
            medians = load_run(output.splitlines()[-1]).measurements.groupby("name")["value"].median()
        harness, ping_all = medians["harness reachability"], medians["Mininet pingAll"]
        verdict = f"  {'pass' if ping_all / harness >= TARGET_RATIO else 'miss'} against at least {TARGET_RATIO}x" \
            if hosts == TARGET_HOSTS else ""
        print(f"{hosts:>5}  {hosts * (hosts - 1):>5}  {harness:7.2f}s  {ping_all:7.2f}s  {ping_all / harness:.1f}x"
              f"  (pingAll loss {medians['Mininet pingAll loss']:g}%){verdict}")


if __name__ == "__main__":
    main()
