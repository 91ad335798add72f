"""What `clean` knows a run's things by, without building anything: processes by pid and
start time, and the pinned environment setup.sh installs."""
import configparser
import os
import re

from conftest import ROOT
from harness.cleanup import is_running, process_record, start_time


def test_a_process_is_known_by_its_pid_and_its_start_time():
    me = process_record(os.getpid())
    assert is_running(me)
    # The same pid with another start time is another process (a reused pid): not ours.
    assert not is_running({"pid": os.getpid(), "start": me["start"] + 1})
    assert not is_running({"pid": 2 ** 22 + 1, "start": me["start"]})     # above pid_max
    assert not is_running(None) and not is_running({"pid": os.getpid(), "start": None})
    assert start_time("not a pid") is None


def test_every_dependency_is_pinned_in_the_constraints_setup_sh_installs_with():
    assert "--constraint constraints.txt" in (ROOT / "setup.sh").read_text()
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    pinned = {re.sub(r"[-_.]+", "-", name).lower() for name in pins}
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    wanted = config["options"]["install_requires"] + config["options.extras_require"]["test"]
    for requirement in wanted.splitlines():
        name = re.match(r"\s*([A-Za-z0-9_.-]+)", requirement.split("#")[0] or " ")
        if name:
            assert re.sub(r"[-_.]+", "-", name[1]).lower() in pinned, requirement
