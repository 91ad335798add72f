"""The open vocabulary at work on one switch: a command on a host and on a switch, a port
setting changed during the run, a capture through an OVS mirror beside one with tcpdump,
and a check of the experiment's own. `ready` makes it wait, capturing, for the test (it
creates $HARNESS_TEST_READY and waits for $HARNESS_TEST_GO)."""
import os
import time
from pathlib import Path

from harness import Experiment, Parameter, SingleSwitch


class Vocabulary(Experiment):
    """Commands, a port setting, mirror and tcpdump captures, and a check of its own."""

    topology = SingleSwitch(hosts=3)
    ready = Parameter(bool, False, "wait for the test once the captures run")

    def run(self, lab):
        lab.flows.add("s1", "action=normal")
        mirrored = lab.capture("s1", 2, via="mirror")
        watched = lab.capture("s1", 3)
        if self.ready and not lab.planning:
            Path(os.environ["HARNESS_TEST_READY"]).touch()
            while not Path(os.environ["HARNESS_TEST_GO"]).exists():
                time.sleep(0.1)

        with lab.step("h1 pings h2 and h3"):
            lab.run("h1", ["ip", "link", "set", "dev", "h1-eth0", "mtu", "1400"])
            lab.ping("h1", "h2", count=2, interval=0.2)
            lab.ping("h1", "h3", count=2, interval=0.2)
            mtu = lab.run("h1", ["cat", "/sys/class/net/h1-eth0/mtu"])
            lab.check.that("h1-eth0's MTU is 1400", lambda snap: mtu.strip(), expected="1400" if not lab.planning else "",
                           why="lab.run ran the command in h1's namespace")
            lab.check.frames_seen(mirrored, 2, kind="echo request", src="h1", dst="h2",
                                  why="the mirror copies what s1 sends out of port 2")
            lab.check.frames_seen(watched, 2, kind="echo request", src="h1", dst="h3")
            lab.check.frames_not_seen(mirrored, kind="echo request", dst="h3")

        with lab.step("port 3 moves to VLAN 30"):
            lab.configure_port("s1", 3, tag=30)
            tag = lab.run("s1", ["ovs-vsctl", "get", "Port", "s1-eth3", "tag"])
            lab.ping("h1", "h3", count=1)
            lab.check.that("s1-eth3's tag is 30", lambda snap: tag.strip(), expected="30" if not lab.planning else "")
            lab.check.ping_loss("h1", "h3", percent=100, why="h3 is in VLAN 30, h1 untagged")
            lab.check.frames_not_seen(watched, src="h1", why="nothing of h1's reaches VLAN 30")
