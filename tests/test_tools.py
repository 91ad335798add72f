"""Running the tools: commands run at once, in order, their failures named."""
import pytest

from harness.errors import HarnessError
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
