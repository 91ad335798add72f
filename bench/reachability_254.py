"""Benchmark: all-pairs reachability of 254 hosts on one switch, run after run.

Runs `harness run mac_learning_scale -p hosts=254` --runs times (every ARP entry filled
first, then one fping per source host, waves adapting to what the switch forwards, lost
probes retried) and prints, per run, the probe's time, the pairs that answered only on a
later try and the pairs never reached; then the targets: the probe under 20 s (median) and
no pair falsely unreachable in any run. With --resolve arp it runs
bench/experiments/reachability_vs_pingall.py -p repeats=0 instead: its one probe resolves
ARP as it goes, its waves sized by FLOOD_BUDGET (harness/traffic.py), and its retried pairs
say whether that budget holds on the datapath measured. Mininet's pingAll is not run beside it: at 254 hosts it
sends 64,262 pings one after another (about 8 s per 1,000 pairs here: over 8 minutes a
probe); bench/reachability.py compares the two at up to 64 hosts. Run as root from the
checkout:

    sudo .venv/bin/python bench/reachability_254.py [--runs 10] [--hosts 254] [--datapath user]
        [--resolve static]
"""
import argparse
import statistics
import sys
import tempfile

from common import describe_machine, timed
from harness import load_run

TARGET_SECONDS = 20.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hosts", type=int, default=254)
    parser.add_argument("--datapath", choices=["user", "kernel"], default="user")
    parser.add_argument("--resolve", choices=["static", "arp"], default="static")
    args = parser.parse_args()
    experiment = ["mac_learning_scale"] if args.resolve == "static" else \
        ["bench/experiments/reachability_vs_pingall.py", "-p", "repeats=0"]
    print(describe_machine(f"{'userspace' if args.datapath == 'user' else 'kernel'} datapath, "
                           f"{args.runs} runs of {' '.join(experiment)} -p hosts={args.hosts}"))
    print(f"{'run':>3}  {'probe':>7}  {'whole run':>9}  {'retried pairs':>13}  {'unreachable':>11}")
    probes, unreachable = [], 0
    for index in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as results:
            whole, output = timed([sys.executable, "-m", "harness", "run", *experiment,
                                   "-p", f"hosts={args.hosts}", "--datapath", args.datapath, "--results-dir", results],
                                  check=False)
            run = load_run(output.splitlines()[-1])
        probe = run.measurements.set_index("name")["value"]["all-pairs reachability probe"]
        pairs = run.reachability
        missed = int((~pairs["reachable"]).sum())
        probes.append(probe)
        unreachable += missed
        print(f"{index:>3}  {probe:6.1f}s  {whole:8.1f}s  {int((pairs['tries'] > 1).sum()):>13}  {missed:>11}")
    median = statistics.median(probes)
    print(f"probe median {median:.1f} s (min {min(probes):.1f}, max {max(probes):.1f}): "
          f"{'pass' if median < TARGET_SECONDS else 'miss'} against under {TARGET_SECONDS:g} s")
    print(f"pairs unreachable over all runs: {unreachable}: {'pass' if unreachable == 0 else 'miss'} against none")


if __name__ == "__main__":
    main()
