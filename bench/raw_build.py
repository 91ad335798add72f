"""Raw Mininet baseline for bench/build_teardown.py: build a single switch with N hosts on
the userspace datapath, start it, print how many ports OVS attached, stop it.

With --batch, Mininet's own batch start-up (`OVSSwitch(batch=True)`: every port in one
ovs-vsctl transaction), which attaches every port; without it, Mininet's default, whose
one-line ovs-vsctl command is cut on its pty from about 64 ports (0 attached, no error).

Usage: sudo .venv/bin/python bench/raw_build.py N [--batch]
"""
import subprocess
import sys
from functools import partial

from mininet.net import Mininet
from mininet.node import OVSSwitch
from mininet.topo import SingleSwitchTopo


def main():
    hosts = int(sys.argv[1])
    net = Mininet(topo=SingleSwitchTopo(k=hosts), switch=partial(OVSSwitch, datapath="user", batch="--batch" in sys.argv),
                  controller=None, autoSetMacs=True)
    try:
        net.start()
        ports = subprocess.run(["ovs-vsctl", "list-ports", "s1"], capture_output=True, text=True).stdout
        print(len(ports.split()))
    finally:
        net.stop()


if __name__ == "__main__":
    main()
