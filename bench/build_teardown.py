"""Benchmark: build, verify and tear down a single switch with N hosts, the harness against
raw Mininet, for N in 8, 32, 64, 128, 254.

Each repetition runs `harness run bench/experiments/build_only.py -p hosts=N`,
bench/raw_build.py N and bench/raw_build.py N --batch (Mininet's batch start-up, which
attaches every port) one after the other (whole commands, Python start-up included), and
prints the medians, the harness's ratio to raw batch Mininet, and how many of the N ports
each attached: the harness verifies every port, raw Mininet does not look. Run as root from
the checkout:

    sudo .venv/bin/python bench/build_teardown.py [--repeats 3] [--sizes 8 32 64 128 254]
"""
import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from common import describe_machine, timed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 64, 128, 254])
    args = parser.parse_args()
    print(describe_machine(f"userspace datapath, {args.repeats} runs each"))
    print(f"{'hosts':>5}  {'harness':>8}  {'raw':>8}  {'raw batch':>9}  {'harness / batch':>15}  harness build"
          "  ports attached (harness, raw, raw batch)")
    for hosts in args.sizes:
        times = {"harness": [], "raw": [], "raw batch": []}
        attached = {"raw": [], "raw batch": []}
        with tempfile.TemporaryDirectory() as results:
            for _ in range(args.repeats):
                seconds, _output = timed([sys.executable, "-m", "harness", "run", "bench/experiments/build_only.py",
                                          "-p", f"hosts={hosts}", "--datapath", "user", "--results-dir", results])
                times["harness"].append(seconds)
                for kind, options in (("raw", []), ("raw batch", ["--batch"])):
                    seconds, output = timed([sys.executable, "bench/raw_build.py", str(hosts), *options])
                    times[kind].append(seconds)
                    attached[kind].append(int(output.split()[-1]))
            runs = [json.loads(path.read_text()) for path in Path(results).glob("*/*/metadata.json")]
        harness, raw, batch = (statistics.median(times[kind]) for kind in ("harness", "raw", "raw batch"))
        build = statistics.median(run["build_seconds"] for run in runs)
        verdict = "pass" if harness <= batch else "miss"
        print(f"{hosts:>5}  {harness:7.2f}s  {raw:7.2f}s  {batch:8.2f}s  {harness / batch:9.2f} {verdict}  {build:12.2f}s  "
              f"{hosts}, {min(attached['raw'])}-{max(attached['raw'])}, "
              f"{min(attached['raw batch'])}-{max(attached['raw batch'])} of {hosts}")


if __name__ == "__main__":
    main()
