"""harness.ovs.purge_argv, with a fake ovs-appctl that logs what it was asked (OVS's own
purge is run by every normal_mode test): the revalidators are resumed after every pause that
succeeded, even when the command is killed, and never without one."""
import signal
import subprocess
import sys
import time

from harness.ovs import purge_argv
from harness.waiting import poll_until

FAKE_APPCTL = """import sys, time
command = sys.argv[2]
open(sys.argv[1], "a").write(command + "\\n")
if command == "revalidator/pause":
    time.sleep(float(sys.argv[3]))
sys.exit(int(sys.argv[4]) if command == sys.argv[5] else 0)
"""


def fake_appctl(tmp_path, pause_takes=0.0, failing="none", status=3):
    """The argv of a fake ovs-appctl (its command comes last) and the file it logs to."""
    log, program = tmp_path / "asked.log", tmp_path / "appctl.py"
    program.write_text(FAKE_APPCTL)
    log.write_text("")
    # purge_argv's script appends the command to the argv it is given: sh passes it on.
    argv = ["sh", "-c", f'exec "{sys.executable}" "{program}" "{log}" "$1" {pause_takes} {status} {failing}', "appctl"]
    return argv, log


def asked(log):
    return log.read_text().split()


def test_a_purge_pauses_the_revalidators_and_resumes_them(tmp_path):
    appctl, log = fake_appctl(tmp_path)
    assert subprocess.run(purge_argv(appctl)).returncode == 0
    assert asked(log) == ["revalidator/pause", "revalidator/purge", "revalidator/resume"]


def test_a_failed_purge_still_resumes_and_says_it_failed(tmp_path):
    appctl, log = fake_appctl(tmp_path, failing="revalidator/purge")
    assert subprocess.run(purge_argv(appctl)).returncode == 3
    assert asked(log) == ["revalidator/pause", "revalidator/purge", "revalidator/resume"]


def test_without_a_pause_nothing_is_resumed(tmp_path):
    appctl, log = fake_appctl(tmp_path, failing="revalidator/pause")
    assert subprocess.run(purge_argv(appctl)).returncode == 1
    assert asked(log) == ["revalidator/pause"]


def test_a_purge_killed_after_its_pause_still_resumes(tmp_path):
    """The harness kills a command it is waiting for when the run is interrupted."""
    appctl, log = fake_appctl(tmp_path, pause_takes=0.5)
    process = subprocess.Popen(purge_argv(appctl), start_new_session=True)
    assert poll_until(lambda: asked(log) == ["revalidator/pause"], 5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert poll_until(lambda: asked(log) == ["revalidator/pause", "revalidator/purge", "revalidator/resume"], 5)
    time.sleep(0.1)     # nothing after the resume
    assert asked(log)[-1] == "revalidator/resume"
