"""Benchmark: `python -m harness run normal_mode` against the same steps on raw Mininet.

Interleaves the harness and bench/raw_normal_mode.py (plain, and with --settle: the waits
that make the counts exact) in one run, REPEATS times each, and prints the medians and
the harness/raw ratios. Run as root from the checkout:

    sudo .venv/bin/python bench/normal_mode.py [--repeats 5]
"""
import argparse
import statistics
import sys
import tempfile

from common import describe_machine, timed

TARGET_RATIO = 1.25     # the harness against the raw script that does not wait


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as results:
        commands = {
            "harness run normal_mode": [sys.executable, "-m", "harness", "run", "normal_mode",
                                        "--datapath", "user", "--results-dir", results],
            "raw Mininet": [sys.executable, "bench/raw_normal_mode.py"],
            "raw Mininet, settled": [sys.executable, "bench/raw_normal_mode.py", "--settle"],
        }
        times = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, argv in commands.items():
                times[name].append(timed(argv)[0])
    print(describe_machine(f"userspace datapath, {args.repeats} runs each"))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:28s} median {median:6.2f} s  (min {min(times[name]):.2f}, max {max(times[name]):.2f})")
    harness = medians["harness run normal_mode"]
    ratio = harness / medians['raw Mininet']
    print(f"harness / raw Mininet:         {ratio:.2f}  {'pass' if ratio <= TARGET_RATIO else 'miss'} "
          f"against at most {TARGET_RATIO}")
    print(f"harness / raw Mininet settled: {harness / medians['raw Mininet, settled']:.2f}")


if __name__ == "__main__":
    main()
