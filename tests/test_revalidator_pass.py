"""ovs.fresh_revalidator_pass: the wait for a revalidator pass that began after the call,
made at once by a change of the flow table's version that deletes no flow. Its unixctl
request against fake daemons (the order of what it sends), and on a real ovs-vswitchd of the
test's own whose revalidators would pass on their own only once an hour."""
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.ovs import NO_PORT, UnixctlRequest, Vswitchd, control_socket, fresh_revalidator_pass, unread_bytes
from harness.tools import CommandRunner, Transcript
from harness.waiting import poll_until


class FakeDaemon:
    """A unixctl socket that answers each request when told to (answer()), and notes, in
    one list shared with the test, when each request arrived."""

    def __init__(self, directory, events, reply=None, name="fake", stalls=False):
        """stalls: answer a request only when another request comes (as ovs-vswitchd's
        answer to revalidator/wait can wait for its main loop to wake)."""
        self.path = str(Path(directory) / f"{name}.ctl")
        self.events, self.reply, self.name, self.stalls = events, reply, name, stalls
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(8)
        self.pending = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:         # closed: the test is over
                return
            request = json.loads(connection.recv(4096))
            if request["method"] == "version":      # a daemon answers it at once
                connection.sendall(json.dumps({"id": 0, "result": "fake 1.0\n", "error": None}).encode())
                connection.close()
                if self.stalls and self.pending:
                    self.answer()
                continue
            self.events.append((self.name, "asked", request["method"], request["params"]))
            self.pending.append(connection)

    def answer(self, chunks=None):
        """Answer every request that arrived: the reply in `chunks` pieces if given."""
        assert poll_until(lambda: self.pending, 2)
        while self.pending:
            connection = self.pending.pop(0)
            text = json.dumps(self.reply or {"id": 0, "result": "", "error": None}).encode()
            try:
                for piece in ([text[:5], text[5:]] if chunks else [text]):
                    connection.sendall(piece)
                    time.sleep(0.01 if chunks else 0)
            except BrokenPipeError:     # the test gave up on this one
                pass
            connection.close()

    def close(self):
        self.server.close()


@pytest.fixture
def short_dir():
    """A directory whose sockets' paths fit in a sockaddr_un (pytest's tmp_path may not)."""
    with tempfile.TemporaryDirectory(prefix="ovsh-", dir="/tmp") as directory:
        yield directory


def test_a_request_is_in_the_daemons_socket_before_its_answer_is_read(short_dir):
    events = []
    daemon = FakeDaemon(short_dir, events)
    try:
        request = UnixctlRequest(daemon.path, "revalidator/wait")
        assert poll_until(lambda: events, 2)
        assert events == [("fake", "asked", "revalidator/wait", [])]
        daemon.answer(chunks=2)
        assert request.answer() == ""
    finally:
        daemon.close()


@pytest.mark.parametrize("reply, message", [
    ({"id": 0, "result": None, "error": "can't wait on multiple udpifs.\n"},
     r"`ovs-appctl -t \S+fake.ctl revalidator/wait` failed: can't wait on multiple udpifs\.$"),
])
def test_a_refusal_is_one_clear_error(short_dir, reply, message):
    daemon = FakeDaemon(short_dir, [], reply=reply)
    try:
        request = UnixctlRequest(daemon.path, "revalidator/wait")
        daemon.answer()
        with pytest.raises(HarnessError, match=message):
            request.answer()
    finally:
        daemon.close()


def test_an_answer_held_until_the_daemon_wakes_comes_when_it_is_woken(short_dir):
    daemon = FakeDaemon(short_dir, [], stalls=True)
    try:
        request = UnixctlRequest(daemon.path, "revalidator/wait", timeout=1)
        with pytest.raises(HarnessError, match="did not answer revalidator/wait in 1 s"):
            request.answer()
        request = UnixctlRequest(daemon.path, "revalidator/wait", timeout=1)
        assert request.answer(wake_every=0.01) == ""
    finally:
        daemon.close()


def test_a_daemon_that_is_gone_or_hangs_up_is_one_clear_error(short_dir):
    with pytest.raises(HarnessError, match=r"cannot ask \S+/gone.ctl for revalidator/wait: No such file"):
        UnixctlRequest(f"{short_dir}/gone.ctl", "revalidator/wait")
    daemon = FakeDaemon(short_dir, [])
    try:
        request = UnixctlRequest(daemon.path, "revalidator/wait")
        assert poll_until(lambda: daemon.pending, 2)
        daemon.pending.pop().close()
        with pytest.raises(HarnessError, match="closed the connection before answering revalidator/wait"):
            request.answer()
        request = UnixctlRequest(daemon.path, "revalidator/wait", timeout=0.2)
        with pytest.raises(HarnessError, match=r"did not answer revalidator/wait in 0\.2 s"):
            request.answer()
    finally:
        daemon.close()


def test_the_control_socket_is_where_ovs_appctl_looks_for_it(tmp_path):
    (tmp_path / "ovs-vswitchd.pid").write_text("4242\n")
    assert control_socket(tmp_path / "ovs-vswitchd.pid") == f"{tmp_path}/ovs-vswitchd.4242.ctl"
    with pytest.raises(HarnessError, match="cannot read the pid file of ovs-vswitchd"):
        control_socket(tmp_path / "missing" / "ovs-vswitchd.pid")


class FakeTools(CommandRunner):
    """Runs nothing: a command is noted in the shared events, and makes every fake daemon
    answer, as a flow table change makes a real one pass."""

    def __init__(self, events, daemons):
        super().__init__(Transcript())
        self.events, self.daemons = events, daemons

    def run_each(self, commands, timeout=30, again_if=None):
        for daemon in self.daemons:     # (the request was sent in this thread, before this call)
            assert poll_until(lambda: daemon.pending, 1), f"{daemon.name} was not asked before the change"
        for argv, _host in commands:
            self.events.append(("tools", "ran", argv[0], argv[1:]))
        for daemon in self.daemons:
            daemon.answer()
        return ["" for _ in commands]


def test_each_wait_is_asked_before_the_change_that_answers_it_and_twice(short_dir):
    """If the change came first, its pass could end before the wait is asked, and the wait
    would be for the daemon's next pass of its own; the second round is asked after the
    first is answered, so no pass under way before the call answers it."""
    events = []
    fakes = [FakeDaemon(short_dir, events, name=name) for name in ("one", "two")]
    try:
        tools = FakeTools(events, fakes)
        daemons = [Vswitchd(lambda command, *args, bridge=bridge: ["ovs-ofctl", command, bridge, *args],
                            lambda *args, fake=fake: ["ovs-appctl", "-t", fake.path, *args], None, fake.path)
                   for bridge, fake in zip(("s1", "n1/br-int"), fakes)]
        fresh_revalidator_pass(tools, daemons)
    finally:
        for fake in fakes:
            fake.close()
    # (The daemons note their requests each in its own thread: in either order.)
    asked = {("one", "asked", "revalidator/wait", ()), ("two", "asked", "revalidator/wait", ())}
    changed = [("tools", "ran", "ovs-ofctl", ("del-flows", "s1", f"out_port={NO_PORT}")),
               ("tools", "ran", "ovs-ofctl", ("del-flows", "n1/br-int", f"out_port={NO_PORT}"))]
    events = [(*event[:3], tuple(event[3])) for event in events]
    assert [set(events[0:2]), events[2:4], set(events[4:6]), events[6:8]] == [asked, changed] * 2
    assert len(events) == 8
    assert [entry.argv for entry in tools.transcript.entries] == \
        [["ovs-appctl", "-t", fake.path, "revalidator/wait"] for fake in fakes] * 2


@pytest.fixture
def own_vswitchd(short_dir):
    """An ovsdb-server and ovs-vswitchd of this test's own (database, sockets, pid files and
    logs in short_dir), with one userspace bridge whose port tqa<pid> has a veth peer
    tqb<pid> in the root namespace, and revalidators that pass on their own once an hour:
    (Vswitchd, the peer's name)."""
    directory, ours, peer, bridge = short_dir, f"tqa{os.getpid()}", f"tqb{os.getpid()}", f"tqr{os.getpid()}"
    vsctl = ["ovs-vsctl", f"--db=unix:{directory}/db.sock"]
    daemons = {daemon: [f"--pidfile={directory}/{daemon}.pid", f"--unixctl={directory}/{daemon}.ctl",
                        f"--log-file={directory}/{daemon}.log", "--detach", "--no-chdir"]
               for daemon in ("ovsdb-server", "ovs-vswitchd")}
    subprocess.run(["ovsdb-tool", "create", f"{directory}/conf.db", "/usr/share/openvswitch/vswitch.ovsschema"],
                   check=True)
    subprocess.run(["ovsdb-server", f"{directory}/conf.db", f"--remote=punix:{directory}/db.sock",
                    *daemons["ovsdb-server"]], check=True)
    try:
        subprocess.run([*vsctl, "--no-wait", "init", "--", "set", "Open_vSwitch", ".",
                        "other_config:max-revalidator=3600000", "other_config:max-idle=3600000"], check=True)
        subprocess.run(["ovs-vswitchd", f"unix:{directory}/db.sock", *daemons["ovs-vswitchd"]], check=True,
                       env={**os.environ, "OVS_RUNDIR": directory})
        subprocess.run(["ip", "link", "add", ours, "type", "veth", "peer", "name", peer], check=True)
        for end in (ours, peer):
            # Without IPv6: an address the kernel gives an interface makes ovs-vswitchd
            # reconfigure, and pass, a second later (a pass the test did not ask for).
            subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{end}.disable_ipv6=1"], check=True)
            subprocess.run(["ip", "link", "set", end, "up"], check=True)
        subprocess.run([*vsctl, "add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev",
                        "fail_mode=secure", "--", "add-port", bridge, ours], check=True)
        yield Vswitchd(lambda command, *args: ["ovs-ofctl", command, f"unix:{directory}/{bridge}.mgmt", *args],
                       lambda *args: ["ovs-appctl", "-t", f"{directory}/ovs-vswitchd.ctl", *args],
                       f"{directory}/ovs-vswitchd.pid", f"{directory}/ovs-vswitchd.ctl"), peer
    finally:
        subprocess.run(["ovs-appctl", "-t", f"{directory}/ovs-vswitchd.ctl", "exit", "--cleanup"], check=False)
        subprocess.run(["ovs-appctl", "-t", f"{directory}/ovsdb-server.ctl", "exit"], check=False)
        subprocess.run(["ip", "link", "del", ours], check=False, stderr=subprocess.DEVNULL)


@pytest.mark.network
def test_no_flow_can_output_to_the_port_whose_flows_are_deleted(own_vswitchd):
    vswitchd, _peer = own_vswitchd
    refused = subprocess.run(vswitchd.ofctl("add-flow", f"actions=output:{NO_PORT}"), capture_output=True, text=True)
    assert refused.returncode != 0 and "OFPBAC_BAD_OUT_PORT" in refused.stderr


@pytest.mark.network
def test_a_fresh_pass_counts_every_frame_though_the_daemon_would_pass_only_in_an_hour(own_vswitchd):
    """The first frame is counted when it misses the datapath's flows; the others hit the
    datapath flow made for it, and reach the OpenFlow flow's n_packets only with a pass.
    The daemon would make none of its own before the request's 30-s timeout."""
    vswitchd, peer = own_vswitchd
    tools = CommandRunner()
    tools.run(vswitchd.ofctl("add-flow", "dl_type=0x88b5,actions=drop"))
    frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + bytes(46)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sender:
        sender.bind((peer, 0))
        for _ in range(5):
            sender.send(frame)
            time.sleep(0.02)
    assert poll_until(lambda: unread_bytes(vswitchd.pidfile) == 0, 2)
    fresh_revalidator_pass(tools, [vswitchd])
    flows = tools.run(vswitchd.ofctl("dump-flows", "--no-names")).splitlines()[1:]
    assert len(flows) == 1 and "n_packets=5," in flows[0] and "dl_type=0x88b5 actions=drop" in flows[0]
