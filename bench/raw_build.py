"""Raw Mininet baseline for bench/build_teardown.py: build a single switch with N hosts on
the userspace datapath, start it, print how many ports OVS attached, stop it.

Usage: sudo .venv/bin/python bench/raw_build.py N
"""
import subprocess
import sys
from functools import partial

from mininet.net import Mininet
from mininet.node import OVSSwitch
from mininet.topo import SingleSwitchTopo


def main():
    hosts = int(sys.argv[1])
    net = Mininet(topo=SingleSwitchTopo(k=hosts), switch=partial(OVSSwitch, datapath="user"),
                  controller=None, autoSetMacs=True)
    try:
        net.start()
        ports = subprocess.run(["ovs-vsctl", "list-ports", "s1"], capture_output=True, text=True).stdout
        print(len(ports.split()))
    finally:
        net.stop()


if __name__ == "__main__":
    main()
