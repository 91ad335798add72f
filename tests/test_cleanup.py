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


def test_the_evidence_of_a_build_that_stopped_halfway_is_kept_for_the_hosts_it_made(tmp_path):
    """(A container host that could not be made ended nova_docker's build before web1 was:
    the evidence must still be kept, of what was made.)"""
    from harness.evidence import keep_evidence
    from harness.tools import Transcript

    class HalfBuilt:
        ovs = {}
        net = {"h1": "h1's node"}

        def bridges(self):
            return []

        def hosts(self):
            return ["h1", "h2"]

        def firewalls(self):
            return ["h2"]

        def built(self, node):
            return node in self.net

        def host(self, name):
            return self.net[name]

    class Tools:
        transcript = Transcript()

        def run_all(self, commands):
            return [f"{argv[0]} in {host}" for argv, host in commands]

    class Log:
        def lines(self):
            return []

    evidence = keep_evidence(HalfBuilt(), Tools(), tmp_path, Log())
    assert sorted(path.name for path in evidence.iterdir()) == [
        "h1.ip-link.txt", "h1.ip-neigh.txt", "ovs-vsctl-show.txt", "ovs-vswitchd.log"]
