"""Benchmark: parsing a real `ovs-ofctl dump-flows` of 1k, 10k and 100k flows into a DataFrame.

Fills a real OVS bridge with varied flows (the generator of tests/test_flow_dumps.py), dumps
it, then times harness.parsers.parse_flows (fast path, OFPFlow for other layouts) against
OVS's OFPFlow on every line, interleaved, several times each; prints medians and the ratio.
Run as root from the checkout, with Open vSwitch running:

    sudo .venv/bin/python bench/flow_parsing.py [--repeats 3] [--sizes 1000 10000 100000]
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from common import ROOT, describe_machine

sys.path.insert(0, str(ROOT / "tests"))
from harness.ovs import DATAPATH_TYPES, RUN_ID_KEY  # noqa: E402
from harness.parsers import _REPLY_HEADER, _ofp_flow_row, parse_flows  # noqa: E402
from harness.results import table_frame  # noqa: E402
from test_flow_dumps import varied_flows  # noqa: E402

BRIDGE = "ovsh-bench"


def real_dump(count):
    """Return `ovs-ofctl dump-flows` of a bridge holding `count` varied flows."""
    subprocess.run(["ovs-vsctl", "--", "--may-exist", "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE,
                    f"datapath_type={DATAPATH_TYPES['user']}", f"external_ids:{RUN_ID_KEY}=bench"], check=True)
    try:
        subprocess.run(["ovs-ofctl", "del-flows", BRIDGE], check=True)
        with tempfile.NamedTemporaryFile("w", suffix=".flows") as flows:
            flows.write("\n".join(varied_flows(count)) + "\n")
            flows.flush()
            subprocess.run(["ovs-ofctl", "add-flows", BRIDGE, flows.name], check=True)
        return subprocess.run(["ovs-ofctl", "dump-flows", BRIDGE], capture_output=True, text=True,
                              check=True).stdout
    finally:
        subprocess.run(["ovs-vsctl", "--if-exists", "del-br", BRIDGE], check=True)


def with_ofpflow_only(text):
    """The baseline: every line through OVS's OFPFlow, into the same DataFrame."""
    lines = (line.strip() for line in text.splitlines())
    return table_frame("flows", [_ofp_flow_row(line) for line in lines if line and not _REPLY_HEADER.match(line)])


def timed(parse, text):
    start = time.perf_counter()
    table = parse(text)
    return time.perf_counter() - start, len(table)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = parser.parse_args()
    parsers = {"harness parse_flows": lambda text: table_frame("flows", parse_flows(text)),
               "OFPFlow on every line": with_ofpflow_only}
    print(describe_machine(f"{args.repeats} runs each"))
    for size in args.sizes:
        text = real_dump(size)
        times = {name: [] for name in parsers}
        for _ in range(args.repeats):
            for name, parse in parsers.items():
                seconds, rows = timed(parse, text)
                assert rows == size, f"{name} gave {rows} rows for {size} flows"
                times[name].append(seconds)
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(f"{size:>7,} flows: " + "  ".join(f"{name} {median:.3f} s" for name, median in medians.items())
              + f"  ratio {medians['OFPFlow on every line'] / medians['harness parse_flows']:.1f}x")


if __name__ == "__main__":
    main()
