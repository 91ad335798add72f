"""What traffic.settle reads: when a host's ARP entry has sent its last request (rows of
`ip -s -j neigh show`, the unresolved one as recorded while h1 resolved an address nobody
answered), and the frames a process has not read from its sockets (on the real kernel)."""
import os
import socket
import subprocess

import pytest

from harness.errors import HarnessError
from harness.ovs import unread_bytes
from harness.traffic import ARP_RETRIES, _sent_last_request
from harness.waiting import poll_until

RESOLVING = {"dst": "10.0.0.2", "dev": "h1-eth0", "used": 0, "confirmed": 60, "updated": 0, "state": ["INCOMPLETE"]}
CONFIRMING = {"dst": "10.0.0.1", "dev": "h2-eth0", "lladdr": "00:00:00:00:00:01", "used": 0, "confirmed": 2,
              "updated": 0, "state": ["PROBE"]}


@pytest.mark.parametrize("probes, last", [(4, False), (5, False), (6, True)])
def test_an_unresolved_entry_has_sent_its_last_request_after_its_broadcasts(probes, last):
    """Linux starts a new entry's count at ucast_solicit (3), then broadcasts mcast_solicit (3)."""
    assert ARP_RETRIES["ucast_solicit"] + ARP_RETRIES["mcast_solicit"] == 6
    assert _sent_last_request({**RESOLVING, "probes": probes}) is last


@pytest.mark.parametrize("probes, last", [(1, False), (2, False), (3, True)])
def test_a_confirmation_has_sent_its_last_request_after_its_unicast_ones(probes, last):
    assert _sent_last_request({**CONFIRMING, "probes": probes}) is last


@pytest.mark.parametrize("state", ["DELAY", "REACHABLE", "STALE", "FAILED", "PERMANENT"])
def test_an_entry_neither_resolving_nor_confirming_has_no_last_request(state):
    assert not _sent_last_request({**CONFIRMING, "probes": 6, "state": [state]})


@pytest.mark.network
def test_frames_a_process_has_not_read_are_unread_bytes_of_its_sockets(tmp_path):
    """unread_bytes as settle uses it on ovs-vswitchd, here on this test's own process: it
    holds a packet socket on one end of a veth, and frames come in at the other."""
    ours, peer = f"tq{os.getpid()}a", f"tq{os.getpid()}b"
    subprocess.run(["ip", "link", "add", ours, "type", "veth", "peer", "name", peer], check=True)
    try:
        for end in (ours, peer):
            subprocess.run(["ip", "link", "set", end, "up"], check=True)
        pidfile = tmp_path / "reader.pid"
        pidfile.write_text(f"{os.getpid()}\n")
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5)) as reader, \
                socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sender:
            reader.bind((ours, 0x88b5))     # the local experimental EtherType: frames of ours only
            reader.setblocking(False)
            sender.bind((peer, 0))
            assert unread_bytes(pidfile) == 0
            frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + bytes(46)
            for _ in range(3):
                sender.send(frame)
            assert poll_until(lambda: unread_bytes(pidfile) > 0, 1)
            for _ in range(3):
                reader.recv(2048)
            assert unread_bytes(pidfile) == 0
    finally:
        subprocess.run(["ip", "link", "delete", ours], check=False)


def test_a_vswitchd_that_is_not_running_is_one_clear_error(tmp_path):
    with pytest.raises(HarnessError, match=r"cannot read the sockets of ovs-vswitchd .*: is it running\?"):
        unread_bytes(tmp_path / "ovs-vswitchd.pid")
