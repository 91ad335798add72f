"""Benchmark: what each host, port and switch costs one machine, for planning a network too
large for it (the README's "Toward internet scale").

Runs bench/experiments/machine_costs.py on one switch with 32, 128 and 254 hosts and on
chains of 8, 32 and 64 switches (two hosts each), and fits a straight line through each
measurement against the number of hosts, ports or switches; the slope is the cost of one
more. Memory is MemTotal - MemAvailable once the network is built (a host: its namespace,
its shell, its veth pair, its OVS port), ovs-vswitchd's resident memory and its CPU while
nothing is sent; build seconds are the run's `build_seconds` (Mininet, OVS, every port
verified); a snapshot is the harness's observation of every switch after a step. Run as
root from the checkout:

    sudo .venv/bin/python bench/machine_costs.py [--hosts 32 128 254] [--switches 8 32 64]
"""
import argparse
import sys
import tempfile

import numpy

from common import describe_machine, timed
from harness import load_run


def measure(parameters):
    """Run the experiment with `parameters`; return {what: value} of its network."""
    with tempfile.TemporaryDirectory() as results:
        _seconds, output = timed([sys.executable, "-m", "harness", "run", "bench/experiments/machine_costs.py",
                                  *(word for parameter in parameters for word in ("-p", parameter)),
                                  "--datapath", "user", "--results-dir", results])
        run = load_run(output.splitlines()[-1])
    values = dict(zip(run.measurements["name"], run.measurements["value"]))
    values["build seconds"] = run.metadata["build_seconds"]
    values["snapshot seconds"] = run.metadata["steps"][1]["snapshot_seconds"]
    return values


def slope(sizes, values):
    return numpy.polyfit(sizes, values, 1)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[32, 128, 254])
    parser.add_argument("--switches", type=int, nargs="+", default=[8, 32, 64])
    args = parser.parse_args()
    print(describe_machine("userspace datapath, one run per size"))
    single = [measure(["shape=single", f"hosts={hosts}"]) for hosts in args.hosts]
    chains = [measure(["shape=linear", f"switches={switches}"]) for switches in args.switches]
    for hosts, values in zip(args.hosts, single):
        print(f"one switch, {hosts:>3} hosts: " + ", ".join(f"{what} {value:g}" for what, value in values.items()))
    for switches, values in zip(args.switches, chains):
        print(f"{switches:>2} switches, {2 * switches:>3} hosts: "
              + ", ".join(f"{what} {value:g}" for what, value in values.items()))
    # A chain of K switches with 2 hosts each has 2K hosts and 4K - 2 switch ports.
    print("per host (one switch): "
          f"memory {slope(args.hosts, [v['memory in use'] for v in single]):.0f} kB, "
          f"ovs-vswitchd RSS {slope(args.hosts, [v['ovs-vswitchd RSS'] for v in single]):.0f} kB per port "
          "(it grows in steps of megabytes), "
          f"ovs-vswitchd idle CPU {slope(args.hosts, [v['ovs-vswitchd idle CPU'] for v in single]) * 1000:.2f} "
          f"milli-cores per port, build {slope(args.hosts, [v['build seconds'] for v in single]) * 1000:.1f} ms, "
          f"snapshot {slope(args.hosts, [v['snapshot seconds'] for v in single]) * 1000:.3f} ms")
    print("per switch (chain, with its 2 hosts and 4 ports): "
          f"memory {slope(args.switches, [v['memory in use'] for v in chains]):.0f} kB, "
          f"ovs-vswitchd RSS {slope(args.switches, [v['ovs-vswitchd RSS'] for v in chains]):.0f} kB, "
          f"build {slope(args.switches, [v['build seconds'] for v in chains]) * 1000:.1f} ms, "
          f"snapshot {slope(args.switches, [v['snapshot seconds'] for v in chains]) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
