"""`run --interactive`: the Mininet CLI after each step, driven with pexpect as Mininet's own
walkthrough tests do."""
import sys

import pexpect
import pytest

from conftest import NOTHING, ROOT, ours_on_machine
from harness import load_run

pytestmark = pytest.mark.network     # real Mininet and OVS, as root

PROMPT = "mininet> "


def spawn(results_dir):
    return pexpect.spawn(sys.executable, ["-m", "harness", "run", "normal_mode", "--interactive",
                                          "--results-dir", str(results_dir)],
                         cwd=ROOT, encoding="utf-8", timeout=60, dimensions=(50, 200))


def test_exit_goes_step_by_step_and_the_cli_sees_the_switch(results_dir):
    child = spawn(results_dir)
    for step in ("build", "ping without flows", "add NORMAL flow", "h1 ping h2"):
        child.expect(f"step \\d+: {step}")
        child.expect(PROMPT)
        if step == "h1 ping h2":
            child.sendline("sh ovs-appctl fdb/show s1")
            child.expect(r"1\s+0\s+00:00:00:00:00:01")
            child.expect(PROMPT)
        child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    output = child.before
    assert "passed" in output
    run = load_run(output.strip().splitlines()[-1].strip())
    assert run.metadata["outcome"] == "passed" and run.checks["passed"].all()
    assert ours_on_machine() == NOTHING


@pytest.mark.parametrize("leave", ["quit", "ctrl-d"])
def test_quit_or_ctrl_d_ends_the_run_cleanly(results_dir, leave):
    child = spawn(results_dir)
    child.expect(PROMPT)
    child.sendline("exit")
    child.expect("step 2: ping without flows")
    child.expect(PROMPT)
    child.sendline("quit") if leave == "quit" else child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    run = load_run(child.before.strip().splitlines()[-1].strip())
    assert run.metadata["outcome"] == "interrupted"
    assert run.metadata["error"] == "interrupted by quit in the Mininet CLI after step 2"
    assert list(run.checks["step"].unique()) == ["build", "ping without flows"]
    assert ours_on_machine() == NOTHING
