"""A run's servers without servers (no root, no ssh): what `doctor --cluster` says about one,
from recorded answers of its commands; where the nodes of a topology are placed; how a
command reaches a server. tests/test_cluster.py runs on two real servers."""
import contextlib
import io
import itertools
import json
import os
import re
import shlex
import threading
from pathlib import Path

import pytest

import harness.cluster
from harness import cleanup, held_settings, kernel_tuning
from harness.cluster import (Cluster, Server, cluster_report, parse_placement, parse_servers, place,
                             require_ready, resolve, server_rows)
from harness.errors import HarnessError
from harness.kernel_tuning import hold_on_server

VERSIONS = {"ovs": "3.1.0", "mininet": "2.3.0"}
REMOTE = Server("vm2", "192.0.2.2", False)
WHICH = "".join(f"/usr/bin/{tool}\n" for tool in
                ("mn", "mnexec", "ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ip", "tc", "ping", "tcpdump", "ethtool",
                 "python3"))
# What a ready server answers, by the command run on it.
READY = {
    "true": (0, "", ""),
    "sudo -n true": (0, "", ""),
    "grep -rhiE ^\\s*MaxSessions\\s /etc/ssh/sshd_config /etc/ssh/sshd_config.d": (0, " maxsessions 1000\n", ""),
    "which": (0, WHICH, ""),
    "ovs-vsctl --version": (0, "ovs-vsctl (Open vSwitch) 3.1.0\nDB Schema 8.3.1\n", ""),
    "mn --version": (0, "", "2.3.0\n"),
    "ovs-vsctl --timeout=5 show": (0, "uuid\n", ""),
    **{f"modprobe --dry-run {module}": (0, "", "") for module in harness.cluster.SERVER_MODULES},
    "docker version --format {{.Server.Version}}": (0, "20.10.24+dfsg1\n", ""),
    "date +%s.%N": (0, "1000.25\n", ""),
}


class FakeServer:
    """Answers the harness's commands as a server would, with some answers changed; keeps
    the argv it was given, and the time it was given for each (None: tools.probe's own)."""

    def __init__(self, changed=None):
        self.answers = {**READY, **(changed or {})}
        self.asked = []
        self.timeouts = []

    def __call__(self, argv, timeout=None):
        self.asked.append(argv)
        self.timeouts.append(timeout)
        remote = shlex.split(argv[-1]) if argv[0] == "ssh" else argv
        command = " ".join(remote)
        return self.answers["which" if remote[0] == "which" else command]


def rows_of(changed=None, server=REMOTE, clock=lambda: 1000.0):
    """{check: (status, found, fix)} of server, answering as READY but for `changed`."""
    return {what.partition(": ")[2]: (status, found, fix)
            for what, found, status, fix in server_rows(server, VERSIONS, FakeServer(changed), clock)}


def test_a_ready_server_passes_every_check():
    rows = rows_of()
    assert list(rows) == ["address", "ssh key login as root", "sudo", "ssh sessions a connection", "tools",
                          "Open vSwitch version", "Mininet version", "Open vSwitch running", "ip_gre module",
                          "openvswitch module", "sch_ingress module", "cls_matchall module", "act_mirred module",
                          "Docker", "clock"]
    assert {status for status, _found, _fix in rows.values()} == {"ok"}
    assert rows["clock"][1] == "+0.25 s from this machine's"


def test_the_checks_after_the_login_are_asked_at_once_and_a_run_does_not_ask_docker(monkeypatch):
    """One after the other, a server's dozen checks took 8 s under emulation: after the login,
    which opens the shared connection, CHECKS_AT_ONCE are in flight together (a fake that
    answers only then would time out one at a time), and each row stays in its place."""
    together = threading.Barrier(harness.cluster.CHECKS_AT_ONCE, timeout=5)
    checks = itertools.count()      # (next() of it is atomic)

    class Waiting(FakeServer):
        def __call__(self, argv, timeout=None):
            if shlex.split(argv[-1]) != ["true"] and next(checks) < together.parties:
                together.wait()
            return super().__call__(argv, timeout)

    answers = Waiting()
    rows = server_rows(REMOTE, VERSIONS, answers, lambda: 1000.0)
    assert [what for what, *_ in rows] == [f"vm2: {check}" for check in rows_of()]
    assert shlex.split(answers.asked[0][-1]) == ["true"]
    # (on a starved VM, a login's key exchange, and a check among others, took longer than a probe's 10 s)
    assert set(answers.timeouts) == {harness.cluster.CHECK_TIMEOUT_S}

    # Docker's row can only warn: a run does not wait for it (one with container hosts asks itself)
    monkeypatch.setattr(harness.cluster, "_is_this_machine", lambda address: False)
    ready = Vm2()
    assert require_ready(["vm2"], VERSIONS, ready) == [REMOTE]
    assert not any("docker" in argv[-1] for argv in ready.asked)


def test_every_command_goes_to_the_server_through_ssh_as_root_in_batch_mode():
    fake = FakeServer()
    server_rows(REMOTE, VERSIONS, fake, lambda: 1000.0)
    for argv in fake.asked:
        assert argv[:6] == ["ssh", "-n", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]
        # one connection of this process's for them all (closed when they are done, or 30 s
        # after the last if the process is killed)
        assert argv[6:12] == ["-o", fake.asked[0][7], "-o", "ControlMaster=auto", "-o", "ControlPersist=30"]
        assert re.fullmatch(rf"ControlPath=/run/ovs-harness/ssh-{os.getpid()}-[0-9a-f]{{16}}", argv[7])
        assert argv[12:14] == ["root@192.0.2.2", "--"] and len(argv) == 15


def test_this_machine_is_checked_without_ssh_or_sudo():
    rows = rows_of(server=Server("vm1", "127.0.0.1", True))
    assert rows["address"][1] == "127.0.0.1 (this machine)"
    assert "ssh key login as root" not in rows and "sudo" not in rows


@pytest.mark.parametrize("error, fix", [
    ("Host key verification failed.\n", "ssh-keyscan vm2 192.0.2.2 >> /root/.ssh/known_hosts"),
    ("root@192.0.2.2: Permission denied (publickey).\n", "ssh-copy-id root@vm2"),
    ("ssh: connect to host 192.0.2.2 port 22: Connection refused\n", "make sshd on vm2 reachable at 192.0.2.2"),
])
def test_a_failed_ssh_login_is_the_one_line_with_its_fix(error, fix):
    rows = rows_of({"true": (255, "", error)})
    assert list(rows) == ["address", "ssh key login as root"]
    status, found, said = rows["ssh key login as root"]
    assert (status, found) == ("fail", error.strip()) and said.startswith(fix)


def test_each_missing_part_fails_its_own_line_and_says_what_to_do():
    rows = rows_of({"sudo -n true": (1, "", "sudo: a password is required\n"),
                    "which": (1, WHICH.replace("/usr/bin/tcpdump\n", ""), ""),
                    "mn --version": (0, "", "2.2.2\n"),
                    "ovs-vsctl --timeout=5 show": (1, "", "ovs-vsctl: unix:/var/run/openvswitch/db.sock: "
                                                          "database connection failed (No such file or directory)\n"),
                    "modprobe --dry-run ip_gre": (1, "", "modprobe: FATAL: Module ip_gre not found\n")})
    assert rows["sudo"][0] == "fail" and "apt install sudo on vm2" in rows["sudo"][2]
    assert rows["tools"][:2] == ("fail", "missing tcpdump")
    assert rows["Mininet version"] == ("fail", "2.2.2", "install 2.3.0 on vm2, as here (setup.sh)")
    assert rows["Open vSwitch running"][0] == "fail" and "ovs-ctl start" in rows["Open vSwitch running"][2]
    assert rows["ip_gre module"][:2] == ("fail", "modprobe: FATAL: Module ip_gre not found")
    assert rows["openvswitch module"][0] == "ok"


SESSIONS_CONFIG = "grep -rhiE ^\\s*MaxSessions\\s /etc/ssh/sshd_config /etc/ssh/sshd_config.d"


@pytest.mark.parametrize("answer, found", [
    ((1, "", ""), "10"),        # none set: sshd's default
    ((0, "MaxSessions 64\nMaxSessions 1000\n", ""), "64"),     # the first one set is sshd's
])
def test_a_server_whose_sshd_allows_few_sessions_a_connection_fails_with_the_line_to_add(answer, found):
    status, said, fix = rows_of({SESSIONS_CONFIG: answer})["ssh sessions a connection"]
    assert (status, said) == ("fail", found)
    assert "`MaxSessions 1000` in /etc/ssh/sshd_config.d/ovs-harness.conf on vm2" in fix


def test_a_sessions_check_that_could_not_ask_says_why_rather_than_sshds_default():
    status, said, fix = rows_of({SESSIONS_CONFIG: (255, "", "mux_client_request_session: read from master failed\n")})[
        "ssh sessions a connection"]
    assert (status, said) == ("fail", "mux_client_request_session: read from master failed")
    assert "MaxSessions 1000" not in fix


def test_a_server_without_docker_is_a_warning_as_only_container_hosts_need_it():
    rows = rows_of({"docker version --format {{.Server.Version}}": (127, "", "bash: docker: command not found")})
    assert rows["Docker"][:2] == ("warn", "Docker is not installed on vm2: install Docker (apt-get install "
                                          "docker.io), or leave container hosts out")


def test_a_clock_half_a_second_off_is_a_warning():
    assert rows_of(clock=lambda: 999.0)["clock"][:2] == ("warn", "+1.25 s from this machine's")
    assert rows_of(clock=lambda: 999.8)["clock"][0] == "ok"


def test_a_name_that_does_not_resolve_is_its_only_line():
    report = cluster_report(["vm1", "vm9"], VERSIONS, FakeResolver())
    assert ("vm9: address", "does not resolve (getent ahostsv4)", "fail",
            "add `ADDRESS vm9` to /etc/hosts on this machine") in report
    assert not any(what.startswith("vm9: ") and what != "vm9: address" for what, *_ in report)
    assert report[-1][:2] == ("this machine in the cluster", "vm1")


class FakeResolver(FakeServer):
    """A machine whose /etc/hosts names vm1 as itself (127.0.0.1) and nothing else."""

    def __call__(self, argv, timeout=None):
        if argv[:2] == ["getent", "ahostsv4"]:
            return (0, "127.0.0.1       STREAM vm1\n127.0.0.1       DGRAM\n", "") if argv[2] == "vm1" else (2, "", "")
        return super().__call__(argv, timeout)


class Vm2(FakeServer):
    """vm2, at 192.0.2.2, answering as READY but for what is changed."""

    def __call__(self, argv, timeout=None):
        return (0, "192.0.2.2       STREAM vm2\n", "") if argv[:2] == ["getent", "ahostsv4"] else \
            super().__call__(argv, timeout)


def test_a_run_with_more_nodes_on_a_server_than_its_sessions_allow_is_refused_with_what_it_needs(monkeypatch):
    """Each node's shell and a capture at each are sessions: 500 nodes need 1,016."""
    monkeypatch.setattr(harness.cluster, "_is_this_machine", lambda address: False)    # (whatever this one's is)
    plenty = {SESSIONS_CONFIG: (0, "MaxSessions 1000\n", "")}
    assert {nodes: server_rows(REMOTE, VERSIONS, FakeServer(plenty), lambda: 1000.0, nodes=nodes)[3][2]
            for nodes in (0, 492, 493)} == {0: "ok", 492: "ok", 493: "fail"}
    placement = {f"h{index}": "vm2" for index in range(500)}
    with pytest.raises(HarnessError, match=r"^--cluster: vm2: ssh sessions a connection: 1000; put `MaxSessions 1016`"):
        require_ready(["vm2"], VERSIONS, Vm2(plenty), placement=placement)
    assert require_ready(["vm2"], VERSIONS, Vm2(plenty), placement=dict(list(placement.items())[:10])) == [REMOTE]


def test_a_server_is_this_machine_when_its_address_is_one_of_ours():
    def documentation_network(argv):
        return 0, "192.0.2.7       STREAM vm2\n", ""

    assert resolve("vm1", FakeResolver()) == Server("vm1", "127.0.0.1", True)
    assert resolve("vm2", documentation_network) == Server("vm2", "192.0.2.7", False)


def test_a_remote_command_is_quoted_word_by_word():
    argv = REMOTE.argv(["ovs-ofctl", "add-flow", "s2", "priority=1,actions=NORMAL; rm -rf /"])
    assert shlex.split(argv[-1]) == ["ovs-ofctl", "add-flow", "s2", "priority=1,actions=NORMAL; rm -rf /"]


@pytest.mark.parametrize("text, said", [
    ("vm1", "at least two servers"),
    ("vm1,,vm2", "'' is not a server's host name"),
    ("vm1,vm2,vm1", "names vm1 more than once"),
    ("vm1,-oProxyCommand=x", "is not a server's host name"),
])
def test_a_bad_server_list_is_refused(text, said):
    with pytest.raises(HarnessError, match=said):
        parse_servers(text)


def test_a_server_list_keeps_its_order():
    assert parse_servers("vm2, vm1,10.0.0.3") == ["vm2", "vm1", "10.0.0.3"]


def test_switches_are_spread_in_order_and_hosts_follow_their_switch():
    from mininet.topo import LinearTopo
    placement = place(LinearTopo(k=4, n=2), ["vm1", "vm2"])
    assert [placement[f"s{i}"] for i in range(1, 5)] == ["vm1", "vm1", "vm2", "vm2"]
    assert all(placement[f"h{host}s{switch}"] == placement[f"s{switch}"] for switch in range(1, 5) for host in (1, 2))


def test_a_pinned_node_stays_where_it_is_pinned_and_its_hosts_with_it():
    from mininet.topo import LinearTopo
    placement = place(LinearTopo(k=3), ["vm1", "vm2"], {"s1": "vm2", "h3": "vm1"})
    assert placement == {"s1": "vm2", "h1": "vm2", "s2": "vm1", "s3": "vm2", "h2": "vm1", "h3": "vm1"}


def station_move_steps(placement):
    """{step: [its checks]} of station_move planned with its nodes where `placement` puts them."""
    from harness.experiment import find_experiment
    from harness.plan import plan_of
    steps = plan_of(find_experiment("station_move")(), "kernel", placement).steps
    return {name: [text.partition(" (")[0] for kind, text in notes if kind == "check"] for name, notes in steps}


def test_an_experiment_is_planned_for_where_its_switches_run():
    """station_move asks whether one ovs-vswitchd runs s1 and s2 (Wiring.same_vswitchd): on
    two servers, s2 keeps h3's old port after the move, the ping to h3 is lost, and h3
    announces itself; on one server of two, as on one machine."""
    from harness.experiment import find_experiment
    topo = find_experiment("station_move")().topology.build()
    apart = station_move_steps(place(topo, ["vm1", "vm2"]))
    together = station_move_steps(place(topo, ["vm1", "vm2"], {"s2": "vm1"}))
    assert together == station_move_steps(None)
    assert list(apart) == [None, "every host announces itself", "h3 moves to port 3 of s2",
                           "h4 ping h3, which s2 still places behind s1",
                           "h3 announces itself, as its new hypervisor would", "h4 ping h3 again"]
    assert apart["h3 moves to port 3 of s2"] == ["s1 did not learn h3", "s2 learned h3 on port 1"]
    assert together["h3 moves to port 3 of s2"] == ["s1 did not learn h3", "s2 did not learn h3"]
    assert "h4 ping h3 at its new port" in together


def test_whether_two_switches_share_an_ovs_vswitchd_follows_the_placement():
    from mininet.topo import LinearTopo
    from harness.topology import Wiring
    topo = LinearTopo(k=3)
    assert Wiring(topo).same_vswitchd("s1", "s3")
    placed = Wiring(topo, place(topo, ["vm1", "vm2"], {"s3": "vm1"}))
    assert placed.same_vswitchd("s1", "s3") and not placed.same_vswitchd("s1", "s2")
    with pytest.raises(HarnessError, match="no switch 's4'"):
        placed.same_vswitchd("s1", "s4")


def test_ovs_nodes_are_spread_as_switches_and_the_hosts_linked_to_them_follow():
    """neutron_journey: the compute node on the first server, the network node on the
    second, each VM with its compute node, the routers and the external host with the
    network node; the underlay between the nodes is the link that crosses."""
    from harness.experiment import find_experiment
    placement = place(find_experiment("neutron_journey")().topology.build(), ["vm1", "vm2"])
    assert placement == {"compute": "vm1", "vma": "vm1", "vmb": "vm1", "network": "vm2", "qroutera": "vm2",
                         "qrouterb": "vm2", "ext": "vm2"}


@pytest.mark.parametrize("pins, said", [
    ({"s9": "vm1"}, "the topology has no node s9"),
    ({"s1": "vm9"}, "vm9 is not one of --cluster's servers"),
])
def test_a_pin_to_nothing_is_refused(pins, said):
    from mininet.topo import LinearTopo
    with pytest.raises(HarnessError, match=said):
        place(LinearTopo(k=2), ["vm1", "vm2"], pins)


@pytest.mark.parametrize("pin", ["s1", "=vm1", "s1="])
def test_a_bad_place_option_is_refused(pin):
    with pytest.raises(HarnessError, match="--place takes NODE=SERVER"):
        parse_placement([pin])


def test_a_clusters_commands_share_one_connection_per_server(tmp_path):
    cluster = Cluster([Server("vm1", "127.0.0.1", True), REMOTE], {"s1": "vm1", "s2": "vm2"}, "run1", tmp_path)
    assert cluster.on("s1", ["ovs-ofctl", "dump-flows", "s1"]) == ["ovs-ofctl", "dump-flows", "s1"]
    argv = cluster.on("s2", ["ovs-ofctl", "dump-flows", "s2"])
    assert f"ControlPath={tmp_path}/run1.ssh-vm2" in argv and argv[-1] == "ovs-ofctl dump-flows s2"
    assert cluster.mininet_server("s1") == ("localhost", None)
    assert cluster.mininet_server("s2") == ("vm2", "192.0.2.2")


class FakeServerTools:
    """A CommandRunner for one server's bridges, interfaces and files: answers `ovs-vsctl list
    Bridge`, `ip -o link show`, `cat` and `find -name` (through ssh), runs the program that holds kernel
    settings (harness.held_settings, where the test put its folders), and keeps every command
    it was given."""

    def __init__(self, bridges, links, files=None):
        self.bridges, self.links, self.files, self.ran = bridges, links, files or {}, []

    def run(self, argv, host=None, check=True, timeout=30, text=None):
        self.ran.append(shlex.split(argv[-1]))
        command = self.ran[-1]
        if command[:2] == ["ovs-vsctl", "--format=json"]:
            return json.dumps({"data": [[name, ["map", sorted(ids.items())]] for name, ids in self.bridges.items()]})
        if command[:3] == ["ip", "-o", "link"]:
            return "".join(f"{index}: {name}: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue"
                           + (f"\\    alias {alias}" if alias else "") + "\n"
                           for index, (name, alias) in enumerate(self.links.items(), 1))
        if command[0] == "cat":
            return "".join(self.files[path] for path in command[1:])
        if command[0] == "find":        # find FOLDER ... -name NAME
            return "".join(f"{path}\n" for path in self.files
                           if path.startswith(command[1] + "/") and Path(path).name == command[-1])
        if command[:2] == ["python3", "-"]:
            # ssh passes the program on to python3
            assert text == Path(held_settings.__file__).read_text() and "-n" not in argv[:-1], argv
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                held_settings.main(command[2:])
            return printed.getvalue()
        return ""


# vm2 as a killed run driven from this machine left it, with its state file lost: its bridge
# and the interfaces of its mark; a run another machine drives (alive or not, this machine
# cannot tell); a run of this machine still alive; and what is not the harness's.
VM2_BRIDGES = {"s2": {"ovs-harness-run": "dead", "ovs-harness-driver": "this"},
               "s3": {"ovs-harness-run": "elsewhere", "ovs-harness-driver": "other"},
               "s4": {"ovs-harness-run": "alive", "ovs-harness-driver": "this"},
               "br-ex": {}}
VM2_LINKS = {"lo": None, "ens3": None, "s2-eth1@if5": "ovs-harness:dead", "s2-eth2@NONE": "ovs-harness:dead",
             "s3-eth1@if7": "ovs-harness:elsewhere", "s4-eth1@if9": "ovs-harness:alive", "veth0@if3": "mine"}


def test_clean_cluster_removes_from_a_server_only_what_this_machines_dead_runs_left():
    tools = FakeServerTools(VM2_BRIDGES, VM2_LINKS)
    removed = cleanup._remove_runs_on_server(
        "vm2", REMOTE.argv, tools, lambda ids: ids.get("ovs-harness-driver") == "this" and ids["ovs-harness-run"] != "alive")
    assert removed == ["bridge s2 on vm2", "interface s2-eth1 on vm2", "interface s2-eth2 on vm2"]
    assert ["ovs-vsctl", "--", "--if-exists", "del-br", "s2"] in tools.ran
    assert [command for command in tools.ran if command[:3] == ["ip", "link", "del"]] == \
        [["ip", "link", "del", "s2-eth1"], ["ip", "link", "del", "s2-eth2"]]


def test_a_killed_runs_state_names_its_run_and_clean_removes_its_marked_interfaces_without_its_bridge():
    """A run killed after its bridge was deleted (in its teardown) still leaves marked
    interfaces: its state file names the run."""
    tools = FakeServerTools({"br-ex": {}}, VM2_LINKS)
    removed = cleanup._remove_remote_leftovers("vm2", {"address": "192.0.2.2", "control_path": "/run/x"}, "dead", tools)
    assert removed == ["interface s2-eth1 on vm2", "interface s2-eth2 on vm2"]


def test_a_killed_runs_remote_tcpdump_is_killed_only_if_it_is_still_the_same_process(monkeypatch):
    """A capture's record is its pid and start time there: a pid now used by another process
    (another start time) is left alone."""
    stats = {"/proc/301/stat": "301 (tcpdump) S 1 301 301 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 5000 1 1",
             "/proc/302/stat": "302 (bash) S 1 302 302 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 9999 1 1"}
    monkeypatch.setattr(cleanup, "probe", lambda argv: (0, stats[shlex.split(argv[-1])[1]], ""))
    tools = FakeServerTools({}, {})
    entry = {"address": "192.0.2.2", "control_path": "/run/x",
             "captures": [{"pid": 301, "start": 5000}, {"pid": 302, "start": 5001}]}
    assert cleanup._remove_remote_leftovers("vm2", entry, "dead", tools) == ["tcpdump process 301 on vm2"]
    assert [command for command in tools.ran if command[0] == "kill"] == [["kill", "-KILL", "301"]]


def test_a_killed_runs_ovs_node_on_a_server_is_stopped_and_its_directory_removed(monkeypatch):
    """The node's daemons, known there by pid and start time (a pid now another process's
    is left alone), then its directory, and the run's directory there once empty."""
    stats = {"/proc/401/stat": "401 (ovsdb-server) S 1 401 401 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 7000 1 1",
             "/proc/402/stat": "402 (bash) S 1 402 402 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 9999 1 1"}

    def probe_there(argv):
        command = shlex.split(argv[-1])
        return (0, stats[command[1]], "") if command[0] == "cat" else (0, "", "")     # (test -d: it is there)
    monkeypatch.setattr(cleanup, "probe", probe_there)
    tools = FakeServerTools({}, {})
    entry = {"address": "192.0.2.2", "control_path": "/run/x", "ovs_nodes": [
        {"node": "network", "directory": "/run/ovs-harness/dead/network",
         "daemons": [{"pid": 401, "start": 7000}, {"pid": 402, "start": 7001}]}]}
    assert cleanup._remove_remote_leftovers("vm2", entry, "dead", tools) == [
        "OVS node daemon process 401 on vm2", "OVS node directory /run/ovs-harness/dead/network on vm2"]
    assert [command for command in tools.ran if command[0] in ("kill", "rm", "rmdir")] == [
        ["kill", "-KILL", "401"], ["rm", "-rf", "--", "/run/ovs-harness/dead/network"],
        ["rmdir", "--ignore-fail-on-non-empty", "--", "/run/ovs-harness/dead"]]


def test_clean_cluster_stops_the_ovs_nodes_of_this_machines_dead_runs_whose_state_was_lost(monkeypatch):
    """Each node's directory there names the machine that drove its run: only this
    machine's runs that are not alive lose their nodes' daemons and directories."""
    monkeypatch.setattr(cleanup, "driver_mark", lambda folder: Path(folder) / "driven-by-this")
    tools = FakeServerTools({}, {}, files=dict.fromkeys([
        "/run/ovs-harness/20261127-010000-dead/n1/driven-by-this", "/run/ovs-harness/20261127-010000-dead/n2/driven-by-this",
        "/run/ovs-harness/20261127-020000-a11e/n1/driven-by-this",
        "/run/ovs-harness/20261127-030000-e15e/n1/driven-by-other", "/run/ovs-harness/held/x/driven-by-this"], ""))
    removed = cleanup.remove_lost_ovs_nodes("vm2", REMOTE.argv, tools, live={"20261127-020000-a11e"})
    assert removed == ["OVS nodes of run 20261127-010000-dead on vm2"]
    assert [command for command in tools.ran if command[0] in ("pkill", "rm")] == [
        ["pkill", "-KILL", "-f", "^ovs(db-server|-vswitchd) .*/run/ovs-harness/20261127-010000-dead/"],
        ["rm", "-rf", "--", "/run/ovs-harness/20261127-010000-dead"]]


def test_an_ovs_node_directory_outside_the_harnesss_is_never_removed(monkeypatch):
    monkeypatch.setattr(cleanup, "probe", lambda argv: (0, "", ""))
    tools = FakeServerTools({}, {})
    entry = {"address": "192.0.2.2", "ovs_nodes": [{"node": "network", "directory": "/etc/network", "daemons": []}]}
    assert cleanup._remove_remote_leftovers("vm2", entry, "dead", tools) == []
    assert not [command for command in tools.ran if command[0] in ("rm", "rmdir")]


class FakeState:
    def __init__(self, servers, run_id=None):
        self.content = {"servers": servers}
        self.run_id = run_id

    def read(self):
        return json.loads(json.dumps(self.content))

    def update(self, **fields):
        self.content.update(fields)


NEIGH = "net/ipv4/neigh/default/"
BACKLOG = "net/core/netdev_max_backlog"
# Linux's own thresholds and backlog, on a server Mininet did not raise them on.
LINUX = {NEIGH + "gc_thresh1": 128, NEIGH + "gc_thresh2": 512, NEIGH + "gc_thresh3": 1024, BACKLOG: 1000}


@pytest.fixture
def server_settings(tmp_path, monkeypatch):
    """A server's /proc/sys settings (LINUX) and its folder of held settings, where
    harness.held_settings finds them; returns a function that reads the settings."""
    proc_sys = tmp_path / "proc" / "sys"
    for setting, value in LINUX.items():
        (proc_sys / setting).parent.mkdir(parents=True, exist_ok=True)
        (proc_sys / setting).write_text(f"{value}\n")
    monkeypatch.setattr(held_settings, "PROC_SYS", proc_sys)
    monkeypatch.setattr(held_settings, "HELD", tmp_path / "held")
    return lambda: {setting: int((proc_sys / setting).read_text()) for setting in LINUX}


def ssh_to_vm2(argv, stdin=False):
    return REMOTE.argv(argv, stdin=stdin)


@pytest.mark.parametrize("entries, raised", [
    (1024, {NEIGH + "gc_thresh1": 256, BACKLOG: 5000}),
    (4096, {NEIGH + "gc_thresh1": 1024, NEIGH + "gc_thresh2": 2048, NEIGH + "gc_thresh3": 4096, BACKLOG: 5000})])
def test_a_server_gets_room_for_its_hosts_neighbours_and_clean_puts_the_old_values_back(entries, raised,
                                                                                        server_settings):
    """Only the settings below what the server's hosts need are raised; the run's state says
    it holds settings there, and cleaning the run puts them back."""
    tools = FakeServerTools({}, {})
    state = FakeState({"vm2": {"address": "192.0.2.2"}}, run_id="dead")
    hold_on_server(entries, state, "vm2", ssh_to_vm2, tools)
    assert state.content["servers"]["vm2"]["holds_settings"] is True
    assert server_settings() == {**LINUX, **raised}
    removed = cleanup._remove_remote_leftovers("vm2", state.content["servers"]["vm2"], "dead", tools)
    assert removed == [f"{setting.replace('/', '.')} back to {LINUX[setting]} on vm2" for setting in raised]
    assert server_settings() == LINUX


def test_two_driving_machines_sharing_a_server_do_not_put_its_settings_back_under_each_other(server_settings):
    """A run driven from another machine needs less than ours: when ours ends first, the
    thresholds come down to what the other needs (gc_thresh3's is Linux's own), and back to
    Linux's when it ends too."""
    held, proc_sys = held_settings.HELD, held_settings.PROC_SYS
    held_settings.hold("ours", "this", {NEIGH + "gc_thresh1": 1024, NEIGH + "gc_thresh3": 4096}, held, proc_sys)
    held_settings.hold("theirs", "other", {NEIGH + "gc_thresh1": 256, NEIGH + "gc_thresh3": 1024}, held, proc_sys)
    assert server_settings() == {**LINUX, NEIGH + "gc_thresh1": 1024, NEIGH + "gc_thresh3": 4096}
    assert held_settings.release("ours", held, proc_sys) == ["net.ipv4.neigh.default.gc_thresh3 back to 1024"]
    assert server_settings() == {**LINUX, NEIGH + "gc_thresh1": 256}
    assert held_settings.release("theirs", held, proc_sys) == ["net.ipv4.neigh.default.gc_thresh1 back to 128"]
    assert server_settings() == LINUX


def test_clean_lets_go_of_what_this_machines_dead_runs_held_whose_state_was_lost(server_settings):
    """The sweep of `clean --cluster`: a dead run of this machine's lets go; a live one of this
    machine's and one another machine drives (alive or not, this machine cannot tell) keep theirs."""
    held, proc_sys = held_settings.HELD, held_settings.PROC_SYS
    for run, driver, need in (("dead", "this", 4096), ("alive", "this", 1024), ("elsewhere", "other", 2048)):
        held_settings.hold(run, driver, {NEIGH + "gc_thresh3": need}, held, proc_sys)
    tools = FakeServerTools({}, {})
    assert kernel_tuning.sweep_server("this", {"alive"}, ssh_to_vm2, tools) == []
    assert server_settings() == {**LINUX, NEIGH + "gc_thresh3": 2048}
    assert sorted(path.stem for path in held.glob("*.json")) == ["alive", "elsewhere"]


class PluginOptions:
    """A pytest config answering getoption from a dict."""

    def __init__(self, options):
        self.options = options

    def getoption(self, name):
        return self.options[name]


def test_the_pytest_plugin_passes_its_cluster_options_as_run_takes_them():
    from harness.pytest_plugin import _cluster
    assert _cluster(PluginOptions({"--ovs-cluster": "vm1,vm2", "--ovs-place": ["s1=vm2"]})) == \
        {"cluster": ["vm1", "vm2"], "place": {"s1": "vm2"}}
    assert _cluster(PluginOptions({"--ovs-cluster": None, "--ovs-place": []})) == {"cluster": None, "place": {}}
    with pytest.raises(HarnessError, match="at least two servers"):
        _cluster(PluginOptions({"--ovs-cluster": "vm1", "--ovs-place": []}))


def test_a_connection_of_our_own_is_closed_when_done_and_its_socket_gone(monkeypatch, tmp_path):
    """clean's sweep of a server: one connection for its commands, which the sweep closes
    (a master left to close itself would outlive `clean` by seconds)."""
    monkeypatch.setattr(harness.cluster, "STATE_DIR", tmp_path)
    asked = []

    def control_path(argv):
        return next(arg.partition("=")[2] for arg in argv if arg.startswith("ControlPath="))

    def master(argv, timeout=10):
        asked.append(argv)
        Path(control_path(argv)).unlink()       # the master exits
        return 0, "", "Exit request sent.\n"
    monkeypatch.setattr(harness.cluster, "probe", master)
    with harness.cluster.connection_of_our_own(Server("a" * 253, "192.0.2.2", False)) as there:
        argv = there(["ovs-vsctl", "list-br"])
        path = control_path(argv)
        assert argv[6:12] == ["-o", f"ControlPath={path}", "-o", "ControlMaster=auto", "-o", "ControlPersist=30"]
        assert len(path) < 100      # (sun_path holds 108 bytes, whatever the server's name)
        Path(path).touch()          # the first command opened the master
    assert asked == [["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", f"ControlPath={path}", "-O", "exit",
                      "root@192.0.2.2"]]
    assert not Path(path).exists()
    with harness.cluster.connection_of_our_own(REMOTE):
        pass                        # no command: no connection to close
    assert len(asked) == 1


def test_a_run_checks_a_server_and_prepares_its_docker_over_one_connection(monkeypatch, tmp_path):
    """connections_held: the connections of our own opened inside it for its servers are its
    own, which it closes at its end (one login a server for a run's checks and its Docker)."""
    monkeypatch.setattr(harness.cluster, "STATE_DIR", tmp_path)
    monkeypatch.setattr(harness.cluster, "resolve", lambda name, run=None: REMOTE)
    closed = []

    def master(argv, timeout=10):
        closed.append(argv)
        Path(argv[argv.index("-O") - 1].partition("=")[2]).unlink()
        return 0, "", "Exit request sent.\n"
    monkeypatch.setattr(harness.cluster, "probe", master)
    with harness.cluster.connections_held(["vm2"]):
        paths = set()
        for _series in ("checks", "docker"):
            with harness.cluster.connection_of_our_own(REMOTE) as there:
                path = next(arg for arg in there(["true"]) if arg.startswith("ControlPath=")).partition("=")[2]
                Path(path).touch()      # the first command opened the master
                paths.add(path)
        assert len(paths) == 1 and closed == []
    assert len(closed) == 1 and not any(tmp_path.iterdir())
