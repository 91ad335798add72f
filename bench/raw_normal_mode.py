"""The blog's NORMAL-mode session written by hand on raw Mininet: the baseline for
bench/normal_mode.py.

Same topology, datapath and commands as `harness run normal_mode`: build single,3 with fixed
MACs and no controller, then at each step the same ovs-ofctl/ovs-appctl commands, the same
pings and the same flow. With --settle it also does what makes the harness's counts exact
(IPv6 off on every interface, waiting for ARP to settle and for a revalidator pass); without
it, it is what a user types into `mn`.

Usage: sudo .venv/bin/python bench/raw_normal_mode.py [--datapath user|kernel] [--settle]
"""
import argparse
import json
import subprocess
import time
from functools import partial

from mininet.net import Mininet
from mininet.node import OVSSwitch
from mininet.topo import SingleSwitchTopo


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True).stdout


def snapshot(wait_for_counters=False):
    if wait_for_counters:
        sh("ovs-appctl", "revalidator/wait")
    return [sh("ovs-ofctl", "dump-flows", "s1"), sh("ovs-appctl", "fdb/show", "s1"),
            sh("ovs-ofctl", "dump-ports", "s1")]


def wait_for_arp(net):
    while any(state in entry.get("state", []) for host in net.hosts
              for entry in json.loads(host.cmd("ip -j neigh show") or "[]")
              for state in ("INCOMPLETE", "DELAY", "PROBE")):
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--datapath", default="user", choices=("user", "kernel"))
    parser.add_argument("--settle", action="store_true")
    args = parser.parse_args()
    net = Mininet(topo=SingleSwitchTopo(k=3), switch=partial(OVSSwitch, datapath=args.datapath),
                  controller=None, autoSetMacs=True)
    try:
        if args.settle:
            for node in net.hosts + net.switches:
                for intf in node.intfNames():
                    node.cmd(f"sysctl -qw net/ipv6/conf/{intf}/disable_ipv6=1")
                    node.cmd(f"sysctl -qw net/ipv4/neigh/{intf}/delay_first_probe_time=1")
        net.start()
        snapshot()
        net["h1"].cmd("ping -c 2 -W 1 10.0.0.2")
        if args.settle:
            wait_for_arp(net)
        snapshot()
        sh("ovs-ofctl", "add-flow", "s1", "action=normal")
        snapshot()
        net["h1"].cmd("ping -c 2 -W 1 10.0.0.2")
        if args.settle:
            wait_for_arp(net)
        print(snapshot(wait_for_counters=args.settle)[0])
    finally:
        net.stop()


if __name__ == "__main__":
    main()
