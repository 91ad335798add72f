"""Running the tools: commands run at once, in order, their failures named."""
import pytest

from harness.errors import HarnessError
from harness.tools import CommandRunner


def test_commands_run_at_once_come_back_in_order_and_a_failure_names_its_command():
    runner = CommandRunner()
    assert runner.run_each([(["echo", "first"], None), (["echo", "second"], None)]) == ["first\n", "second\n"]
    with pytest.raises(HarnessError, match=r"^`ls /no/such/file` failed: .*No such file"):
        runner.run_each([(["echo", "fine"], None), (["ls", "/no/such/file"], None)])
    assert [entry.argv[0] for entry in runner.transcript.entries] == ["echo", "echo", "echo", "ls"]
