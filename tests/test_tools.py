"""Running the tools: commands run at once, in order, their failures named."""
import os
import threading

import pytest

from harness.errors import HarnessError, Interrupted
from harness.tools import CommandRunner, where_ran


def test_commands_run_at_once_come_back_in_order_and_a_failure_names_its_command():
    runner = CommandRunner()
    assert runner.run_each([(["echo", "first"], None), (["echo", "second"], None)]) == ["first\n", "second\n"]
    with pytest.raises(HarnessError, match=r"^`ls /no/such/file` failed: .*No such file"):
        runner.run_each([(["echo", "fine"], None), (["ls", "/no/such/file"], None)])
    assert [entry.argv[0] for entry in runner.transcript.entries] == ["echo", "echo", "echo", "ls"]


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
    process, argv, where, text = runner._start(["sleep", "30"], None)

    def interrupted_inside_wait(input=None, timeout=None):
        process._waitpid_lock.acquire()     # and never released, as the interrupted `with` left it
        raise Interrupted("SIGINT")
    process.communicate = interrupted_inside_wait
    raised = []

    def finish():
        try:
            runner._finish(process, argv, where, text, timeout=5)
        except Interrupted as interruption:
            raised.append(interruption)
    waiting = threading.Thread(target=finish, daemon=True)     # (so that a hang fails the test)
    waiting.start()
    waiting.join(10)
    assert raised, "the interrupted command is never reaped: the run would hang"
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)         # gone, and reaped (a zombie would still take signal 0)
    assert runner.transcript.entries[-1].output == "[interrupted: killed]\n"
