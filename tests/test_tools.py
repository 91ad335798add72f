"""Running the tools: commands run at once, in order, their failures named."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from harness.errors import HarnessError, Interrupted
from harness.cluster import BATCH_PROGRAM
from harness.tools import CommandRunner, OnServer, at_once, probe, where_ran
from harness.waiting import poll_until


def test_calls_at_once_run_side_by_side_and_come_back_in_order_and_a_lone_one_runs_here():
    together = threading.Barrier(3, timeout=5)      # (one at a time, the first would time out)

    def call(number):
        together.wait()
        return number
    assert at_once([lambda number=number: call(number) for number in range(3)], 3) == [0, 1, 2]
    # here: an interrupt stops its command at once (a thread's runs on until it ends)
    assert at_once([threading.current_thread], 4) == [threading.main_thread()]


def test_an_interrupt_stops_the_commands_begun_at_once_those_of_an_at_once_within_too():
    """A doctor's checks of two servers run at once, and each server's checks at once within
    its call: a Ctrl-C while they wait stops every command begun (here sleeps of 60 s, as a
    check waits for a starved server) and drops those not begun."""
    def server_checks():
        return at_once([partial(probe, ["sleep", "60"], 90) for _ in range(2)], 2)

    def interrupt(signum, frame):
        raise Interrupted("SIGINT")
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    began = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            at_once([partial(probe, ["sleep", "60"], 90), server_checks, server_checks], 3)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - began < 10, "the interrupt waited for the commands begun"
    assert subprocess.run(["pgrep", "-f", "-x", "sleep 60", "-P", str(os.getpid())]).returncode == 1, "a sleep is left"


def test_commands_run_at_once_come_back_in_order_and_a_failure_names_its_command():
    runner = CommandRunner()
    assert runner.run_each([(["echo", "first"], None), (["echo", "second"], None)]) == ["first\n", "second\n"]
    with pytest.raises(HarnessError, match=r"^`ls /no/such/file` failed: .*No such file"):
        runner.run_each([(["echo", "fine"], None), (["ls", "/no/such/file"], None)])
    assert [entry.argv[0] for entry in runner.transcript.entries] == ["echo", "echo", "echo", "ls"]


def test_a_dump_the_switch_dropped_among_others_at_once_is_run_once_more_alone(tmp_path):
    """The two messages of a dump whose connection ovs-vswitchd closed before its hello was
    done (the second CI run of each: its flag file exists), and a failure of another kind,
    which is not run again."""
    from harness.ovs import DROPPED_BY_THE_SWITCH

    def dropped_once(name, message):
        flag = tmp_path / name
        return ["sh", "-c", f'[ -e {flag} ] && echo counters || {{ touch {flag}; echo "{message}" >&2; exit 1; }}']
    runner = CommandRunner()
    commands = [(dropped_once("ports", "ovs-ofctl: connecting to unix:/run/s1.mgmt (Broken pipe)"), None),
                (["echo", "flows"], None),
                (dropped_once("desc", "ovs-ofctl: failed to send packet to switch (Broken pipe)"), None)]
    assert runner.run_each(commands, again_if=DROPPED_BY_THE_SWITCH.search) == ["counters\n", "flows\n", "counters\n"]
    assert len(runner.transcript.entries) == 5      # each dropped dump is in it twice
    with pytest.raises(HarnessError, match="No such file"):
        CommandRunner().run_each([(["ls", "/no/such/file"], None)], again_if=DROPPED_BY_THE_SWITCH.search)


def test_a_command_reads_the_text_it_is_given_on_its_standard_input():
    outputs = CommandRunner().run_all([(["cat"], None), (["wc", "-l"], None)], inputs=["neigh replace\n", "a\nb\n"])
    assert [output.strip() for output in outputs] == ["neigh replace", "2"]


class Host:
    """What the transcript needs of a Mininet host: its name and, on a cluster, its server."""

    def __init__(self, name, **server):
        self.name = name
        self.__dict__.update(server)


def test_the_transcript_says_on_which_server_a_host_ran_a_command():
    assert [where_ran(None), where_ran(Host("h1")), where_ran(Host("h1", server="localhost")),
            where_ran(Host("h2", server="vm2"))] == ["sh", "h1", "h1", "h2@vm2"]


def test_a_command_interrupted_while_its_wait_holds_subprocesss_lock_is_killed_without_hanging():
    """A signal raised inside Popen.wait() can leave its lock held (CPython bpo-29988):
    the command is still killed and reaped, and the interruption goes on up."""
    runner = CommandRunner()
    started = runner._start(["sleep", "30"], None)
    process = started.process

    def interrupted_inside_wait(input=None, timeout=None):
        process._waitpid_lock.acquire()     # and never released, as the interrupted `with` left it
        raise Interrupted("SIGINT")
    process.communicate = interrupted_inside_wait
    raised = []

    def finish():
        try:
            runner._finish(started, timeout=5)
        except Interrupted as interruption:
            raised.append(interruption)
    waiting = threading.Thread(target=finish, daemon=True)     # (so that a hang fails the test)
    waiting.start()
    waiting.join(10)
    assert raised, "the interrupted command is never reaped: the run would hang"
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)         # gone, and reaped (a zombie would still take signal 0)
    assert runner.transcript.entries[-1].output == "[interrupted: killed]\n"


def on_server(argv, server="vm2", batch=None):
    """An OnServer argv whose server is this machine: each command runs here as it is, with
    no standard input (as `ssh -n` runs it there), and a batch runs harness.server_batch
    here, as ssh would run it there."""
    return OnServer(["sh", "-c", 'exec "$@" < /dev/null', "ssh -n", *argv], server, argv,
                    batch or [sys.executable, "-c", BATCH_PROGRAM, server])


def test_commands_for_one_server_go_in_one_session_and_come_back_each_in_order():
    runner = CommandRunner()
    parent = ["sh", "-c", "echo $PPID"]
    outputs = runner.run_all([(on_server(parent), None), (["echo", "here"], None), (on_server(["cat"]), None),
                              (on_server(parent), None), (on_server(parent, "vm3"), None)],
                             inputs=[None, None, "read there\n", None, None])
    vm2_first, here, read, vm2_second, vm3 = outputs
    assert (here, read) == ("here\n", "read there\n")
    assert vm2_first == vm2_second != vm3, "vm2's commands share one session, the only one of vm3 has its own"
    assert int(vm3) == os.getpid(), "a server's only command goes as it is"
    assert [entry.render().splitlines()[0] for entry in runner.transcript.entries] == [
        "mininet> sh@vm2 sh -c 'echo $PPID'", "mininet> sh@vm2 cat", "mininet> sh@vm2 sh -c 'echo $PPID'",
        "mininet> sh echo here", "mininet> sh@vm3 sh -c 'echo $PPID'"]


def test_a_failed_command_of_a_session_is_named_with_its_server_and_a_missing_one_exits_127():
    runner = CommandRunner()
    with pytest.raises(HarnessError, match=r"^`ls /no/such/file` on vm2 failed: .*No such file"):
        runner.run_each([(on_server(["true"]), None), (on_server(["ls", "/no/such/file"]), None)])
    runner.run_all([(on_server(["true"]), None), (on_server(["no-such-tool"]), None)])
    missing = runner.transcript.entries[-1]
    # (its complaint is the OSError's: not found, or a folder of PATH this user may not search)
    assert (missing.argv, missing.returncode, missing.output.partition(": ")[0]) == (["no-such-tool"], 127, "no-such-tool")


def test_a_servers_only_command_gets_what_it_reads():
    """(station_move's h4, the only host on vm2, got no static ARP entry: `ip -batch -` read
    nothing through `ssh -n`.)"""
    runner = CommandRunner()
    assert runner.run_all([(["cat"], RemoteHost("h4", server="vm2"))], inputs=["neigh replace\n"]) == ["neigh replace\n"]
    assert runner.transcript.entries[-1].render().splitlines()[0] == "mininet> h4@vm2 cat"


def test_when_a_session_fails_as_a_whole_each_of_its_commands_says_why():
    gone = ["sh", "-c", "echo 'ssh: connect to host 192.0.2.2 port 22: No route to host' >&2; exit 255"]
    runner = CommandRunner()
    with pytest.raises(HarnessError, match=r"^`ovs-ofctl dump-flows s2` on vm2 failed: ssh: connect .*No route"):
        runner.run_each([(on_server(["ovs-ofctl", "dump-flows", "s2"], batch=gone), None),
                         (on_server(["ovs-ofctl", "dump-ports", "s2"], batch=gone), None)])
    assert [(entry.argv[1], entry.returncode) for entry in runner.transcript.entries] == [
        ("dump-flows", 255), ("dump-ports", 255)]


class RemoteHost(Host):
    """A host of another server, as harness.cluster_nodes makes them: its commands are
    OnServer argvs of that server (here run on this machine, as on_server's are)."""
    isRemote = True

    def in_namespace(self, argv):
        command = on_server(argv, self.server)
        command.where, command.shown = where_ran(self), argv
        return command

    def popen(self, argv, **options):
        """(As Mininet's: a command run alone in the host, here on this machine.)"""
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)


def test_commands_in_hosts_of_a_server_share_its_session_and_show_as_the_hosts():
    runner = CommandRunner()
    parent = ["sh", "-c", "echo $PPID"]
    outputs = runner.run_each([(on_server(parent), None), (parent, RemoteHost("qroutera", server="vm2"))])
    assert outputs[0] == outputs[1]
    assert [entry.render().splitlines()[0] for entry in runner.transcript.entries] == [
        "mininet> sh@vm2 sh -c 'echo $PPID'", "mininet> qroutera@vm2 sh -c 'echo $PPID'"]
    with pytest.raises(HarnessError, match=r"^`sleep 5` on qroutera@vm2 did not answer in 0.5 s$"):
        runner.run_each([(["sleep", "5"], RemoteHost("qroutera", server="vm2"))], timeout=0.5)
    with pytest.raises(HarnessError, match=r"^`ls /no/such/file` on qroutera@vm2 failed: "):
        runner.run_each([(["ls", "/no/such/file"], RemoteHost("qroutera", server="vm2"))])
    with pytest.raises(HarnessError, match=r"^`sleep 5` on qroutera@vm2 did not answer in 0.5 s$"):
        runner.run(["sleep", "5"], RemoteHost("qroutera", server="vm2"), timeout=0.5)


def test_a_servers_commands_run_once_started_not_once_waited_for(tmp_path):
    """(A host's broadcast runs while the harness watches the switches learn it: the session
    must not wait for finish_all to be given its commands.)"""
    runner = CommandRunner()
    marks = [tmp_path / "h1", tmp_path / "h2"]
    started = runner.start_all([(on_server(["touch", str(mark)]), None) for mark in marks])
    assert poll_until(lambda: all(mark.exists() for mark in marks), 10)
    assert runner.finish_all(started) == ["", ""]


def test_a_session_longer_than_its_heartbeat_answers_as_a_short_one():
    outputs = CommandRunner().run_each([(on_server(["sh", "-c", "sleep 1.2; echo slept"]), None),
                                        (on_server(["echo", "at once"]), None)])
    assert outputs == ["slept\n", "at once\n"]


def test_a_session_whose_ssh_client_is_gone_kills_its_commands_on_the_server(tmp_path):
    """When the run stops waiting (interrupted, or out of time), it kills the session's ssh
    client; on the server, harness.server_batch's next heartbeat then finds no one to read
    it, and kills the commands it started."""
    pid_file = tmp_path / "pid"
    batch = subprocess.Popen([sys.executable, "-c", BATCH_PROGRAM], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    batch.stdin.write(json.dumps([[["sh", "-c", f"echo $$ > {pid_file}; exec sleep 30"], None]]))
    batch.stdin.close()
    assert poll_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 10)
    command = int(pid_file.read_text())
    batch.stdout.close()        # (as sshd does when the session's client is gone)
    assert batch.wait(10) == 1
    assert poll_until(lambda: not _alive(command), 5), "the command runs on without its session"


def _alive(pid):
    """Whether process `pid` runs (a zombie, killed but not yet reaped by init, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
