"""The experiment author's vocabulary without a network: declared topologies with port and
bridge settings, the Plan of the new actions, checks of one's own, frame checks, and the
decoding of captured frames (a recorded pcap of vlan_normal's trunk)."""
import pytest

from conftest import DATA
from harness import Link, SingleSwitch, Topology
from harness.capture import read_pcap
from harness.checks import Check
from harness.errors import HarnessError
from harness.parsers import parse_fdb_stats
from harness.plan import Plan
from harness.snapshot import Snapshot

TRUNK = Topology(switches=["s1", "s2"],
                 links=[Link("h1", "s1", tag=10), Link("h2", "s2", tag=10), Link("s1", "s2", trunks=(10, 20))],
                 bridges={"s1": {"mac-aging-time": 15}}, macs={"h2": "00:00:00:00:00:01"})


def test_a_declared_topology_numbers_ports_by_link_and_keeps_its_settings():
    network = Plan(TRUNK).network
    assert network.hosts() == ["h1", "h2"] and network.port_of("h2", "s2") == 1
    assert network.port_toward("s1", "h2") == 2 and network.vlan_of("h1") == 10
    assert network.mac("h2") == "00:00:00:00:00:01"
    assert network.host_named("00:00:00:00:00:01", 10) == "h1|h2"      # both in VLAN 10
    assert network.configuration() == [
        {"switch": "s1", "port": None, "setting": "other_config:mac-aging-time", "value": 15},
        {"switch": "s1", "port": 1, "setting": "tag", "value": 10},
        {"switch": "s1", "port": 2, "setting": "trunks", "value": (10, 20)},
        {"switch": "s2", "port": 1, "setting": "tag", "value": 10},
        {"switch": "s2", "port": 2, "setting": "trunks", "value": (10, 20)}]


@pytest.mark.parametrize("make, message", [
    (lambda: Topology(["s1"], [Link("h1", "s1", tag=4095)]), "tag must be VLAN numbers from 1 to 4094"),
    (lambda: Topology(["s1"], [Link("h1", "s1", trunks=())]), "trunks must name at least one VLAN"),
    (lambda: Topology(["s1"], [Link("h1", "s1", vlan_mode="hybrid")]), "vlan_mode must be one of"),
    (lambda: Topology(["s1"], [("h1", "s1")], bridges={"s1": {"mac-aging-tme": 15}}),
     "unknown bridge other_config key 'mac-aging-tme'"),
    (lambda: Topology(["s1"], [("h1", "s1")], bridges={"s1": {"datapath-id": "1"}}), "unknown bridge other_config"),
    (lambda: Topology(["s1"], [("h1", "h2")]), "joins two hosts"),
    (lambda: Topology(["s1"], [("h1", "s1")], macs={"h9": "00:00:00:00:00:09"}), "not a host"),
    (lambda: Topology(["S1"], [("h1", "S1")]), "node name 'S1'"),
])
def test_a_wrong_topology_is_one_clear_error(make, message):
    with pytest.raises(HarnessError, match=message):
        make()


def test_the_plan_writes_down_the_new_actions_and_refuses_wrong_ones():
    plan = Plan(SingleSwitch(hosts=3))
    point = plan.capture("h3")
    mirrored = plan.capture("s1", 2, via="mirror")
    with plan.step("actions"):
        plan.run("h1", ["ip", "link", "show"])
        plan.configure_port("s1", 3, tag=10)
        plan.configure_bridge("s1", {"mac-table-size": 10})
        plan.move("h3", "s1", 5)
        plan.announce("h1", learned_by=["s1"])
        assert plan.wait_until_forgotten("s1", "h1", timeout=20) is None
        plan.check.frames_seen(point, 1, kind="echo request", src="h1", dst="h3")
        plan.check.frames_not_seen(mirrored, dst="broadcast", vlan=0)
        with pytest.raises(HarnessError, match="never a shell string"):
            plan.run("h1", "ip link show")
        with pytest.raises(HarnessError, match="port 5 of s1 is taken"):
            plan.move("h2", "s1", 5)
        with pytest.raises(HarnessError, match="unknown port setting 'vlan'"):
            plan.configure_port("s1", 1, vlan=10)
        with pytest.raises(HarnessError, match="s1 has no port 9"):
            plan.configure_port("s1", 9, tag=10)
        with pytest.raises(HarnessError, match="'s1-eth1' is not captured"):
            plan.check.frames_seen("s1-eth1", kind="arp request")
        with pytest.raises(HarnessError, match="h3 is captured already"):
            plan.capture("h3")
        with pytest.raises(HarnessError, match="via must be"):
            plan.capture("s1", 1, via="span")
    assert plan.network.port_of("h3", "s1") == 5 and plan.network.port_name("s1", 5) == "s1-eth3"
    assert [kind for kind, _text in plan.steps[1][1]] == ["run", "port", "bridge", "move", "send", "wait",
                                                          "check", "check"]
    assert plan.steps[0][1][0] == ("capture", "tcpdump -Q in on h3-eth0 in h3's namespace: frames delivered to h3")


def checks_of(plan):
    return [text for _kind, text in plan.steps[-1][1]]


def test_a_check_of_ones_own_needs_a_name_an_observation_and_one_expectation():
    plan = Plan(SingleSwitch(hosts=2))
    with plan.step("own checks"):
        plan.check.that("two flows", lambda snap: 2, expected=2, why="because")
        plan.check.that("a lifetime", lambda snap: 14.5, between=(13, 16))
        for wrong, message in [(dict(expected=1, between=(1, 2)), "exactly one of"),
                               (dict(), "exactly one of"),
                               (dict(between=(None, None)), "between must be"),
                               (dict(between=("a", 2)), "between must be")]:
            with pytest.raises(HarnessError, match=message):
                plan.check.that("wrong", lambda snap: 1, **wrong)
        with pytest.raises(HarnessError, match="needs a name"):
            plan.check.that("", lambda snap: 1, expected=1)
        with pytest.raises(HarnessError, match="observe must be a function"):
            plan.check.that("not callable", 1, expected=1)
    assert checks_of(plan) == ["two flows (because)", "a lifetime (a lifetime)"]


@pytest.mark.parametrize("observed, passed", [(12.9, False), (13, True), (16, True), (16.1, False),
                                              (None, False), (float("nan"), False)])
def test_a_range_check_passes_only_inside_its_range(observed, passed):
    book_checks = []
    plan = Plan(SingleSwitch(hosts=2))
    from harness.checks import CheckBook
    CheckBook(plan.network, book_checks.append).that("lifetime", lambda snap: observed, between=(13, 16))
    check: Check = book_checks[0]
    assert check.evaluate(Snapshot()) is passed and check.expected == "13 to 16"


def frames_check(*args, **kwargs):
    checks = []
    from harness.checks import CheckBook
    CheckBook(Plan(TRUNK).network, checks.append, lambda: ["s1-eth2"]).frames_seen("s1-eth2", *args, **kwargs)
    return checks[0]


def test_frame_checks_count_only_this_steps_matching_frames():
    frames = [{"src_mac": "00:00:00:00:00:01", "dst_mac": "ff:ff:ff:ff:ff:ff", "kind": "arp request", "vlan": 10}]
    before = Snapshot(frames={"s1-eth2": frames})
    now = Snapshot(frames={"s1-eth2": frames * 3}, before_step=before)
    assert frames_check(2, kind="arp request", dst="broadcast", vlan=10).evaluate(now)
    assert not frames_check(2, kind="arp request", vlan=20).evaluate(now)
    assert frames_check(kind="arp request", src="h1").evaluate(now)       # at least one
    assert not frames_check(kind="echo request").evaluate(now)


def test_captured_frames_decode_with_their_vlan_tags():
    rows = read_pcap(DATA / "trunk_vlans_10_20.pcap")
    first = rows[0]
    assert (first["src_mac"], first["dst_mac"], first["vlan"], first["kind"], first["ip_src"], first["ip_dst"]) == \
        ("00:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", 10, "arp request", "10.0.0.1", "10.0.0.2")
    assert {row["vlan"] for row in rows} == {10, 20}
    assert any(row["kind"] == "echo request" and row["icmp_seq"] == 1 for row in rows)


def test_a_capture_cut_mid_frame_reads_the_whole_frames_only(tmp_path):
    whole = (DATA / "trunk_vlans_10_20.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[:-10])
    assert len(read_pcap(cut)) == len(read_pcap(DATA / "trunk_vlans_10_20.pcap")) - 1
    cut.write_bytes(whole[:10])
    assert read_pcap(cut) == []


def test_fdb_stats_are_read_and_a_missing_count_is_an_error():
    text = """Statistics for bridge "s1":
  Current/maximum MAC entries in the table: 10/10
  Current static MAC entries in the table : 0
  Total number of learned MAC entries     : 14
  Total number of expired MAC entries     : 0
  Total number of evicted MAC entries     : 4
  Total number of port moved MAC entries  : 1
"""
    assert parse_fdb_stats(text) == {"current": 10, "maximum": 10, "learned": 14, "expired": 0, "evicted": 4,
                                     "moved": 1}
    with pytest.raises(ValueError, match="no evicted count"):
        parse_fdb_stats(text.replace("evicted", "thrown out"))


def test_the_api_names_a_class_after_itself_and_refuses_what_is_not_an_experiment():
    from harness import Experiment
    from harness.api import configured, experiment_class

    class BlogStepSeven(Experiment):
        """Made up."""
        topology = SingleSwitch(hosts=2)

        def run(self, lab):
            pass
    assert experiment_class(BlogStepSeven).name == "blog_step_seven"
    assert experiment_class("normal_mode").name == "normal_mode"
    with pytest.raises(HarnessError, match="not an experiment: 42"):
        experiment_class(42)
    with pytest.raises(HarnessError, match="has no parameter 'hosts'"):
        configured(BlogStepSeven, {"hosts": 3})
