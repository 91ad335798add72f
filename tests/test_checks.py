"""The check vocabulary evaluated on snapshots built by hand."""
import pytest
from mininet.topo import SingleSwitchTopo

from harness.checks import CheckBook
from harness.snapshot import Snapshot
from harness.errors import HarnessError
from harness.topology import Wiring

HOSTS_BY_MAC = {"00:00:00:00:00:01": "h1", "00:00:00:00:00:02": "h2", "00:00:00:00:00:03": "h3"}


def book():
    checks = []
    return CheckBook(Wiring(SingleSwitchTopo(k=3)), checks.append, HOSTS_BY_MAC), checks


def fdb(*entries):
    return Snapshot(fdb={"s1": [{"port": port, "mac": mac} for port, mac in entries]})


def test_mac_learned_on_the_right_port_passes_and_on_another_fails():
    checks_book, checks = book()
    checks_book.mac_learned("s1", "h1", port=1)
    checks_book.mac_learned("s1", "h2", port=3)
    snapshot = fdb((1, "00:00:00:00:00:01"), (2, "00:00:00:00:00:02"))
    assert [check.evaluate(snapshot) for check in checks] == [True, False]
    assert (checks[1].expected, checks[1].observed) == (3, 2)


def test_mac_not_learned_reports_where_it_was_learned():
    checks_book, checks = book()
    checks_book.mac_not_learned("s1", "h3", why="h3 sent nothing")
    [check] = checks
    assert check.evaluate(fdb((1, "00:00:00:00:00:01")))
    assert not check.evaluate(fdb((3, "00:00:00:00:00:03")))
    assert (check.observed, check.description) == (3, "h3 sent nothing")


def test_mac_table_empty_ignores_the_bridge_own_mac():
    checks_book, checks = book()
    checks_book.mac_table_empty("s1")
    [check] = checks
    assert check.evaluate(fdb((-1, "b2:c9:fc:3c:1a:41")))
    assert not check.evaluate(fdb((-1, "b2:c9:fc:3c:1a:41"), (2, "00:00:00:00:00:02")))
    assert check.observed == ["h2"]


def test_flow_checks_count_and_compare_actions():
    checks_book, checks = book()
    checks_book.flow_table_empty("s1")
    checks_book.flow_actions("s1", ["NORMAL"])
    one_normal = Snapshot(flows={"s1": [{"actions": "NORMAL"}]})
    two_flows = Snapshot(flows={"s1": [{"actions": "NORMAL"}, {"actions": "output:3"}]})
    assert [check.evaluate(one_normal) for check in checks] == [False, True]
    assert [check.evaluate(two_flows) for check in checks] == [False, False]
    assert checks[1].observed == ["NORMAL", "output:3"]


def test_ping_loss_uses_the_last_ping_between_the_two_hosts():
    checks_book, checks = book()
    checks_book.ping_loss("h1", "h2", percent=0)
    [check] = checks
    pings = [{"src": "h1", "dst": "h2", "loss": 100.0}, {"src": "h2", "dst": "h1", "loss": 50.0},
             {"src": "h1", "dst": "h2", "loss": 0.0}]
    assert check.evaluate(Snapshot(pings=pings))
    assert not check.evaluate(Snapshot(pings=pings[:2]))
    assert check.observed == 100.0
    assert not check.evaluate(Snapshot(pings=[]))
    assert check.observed is None


def flows(*rows):
    return [{"table": 0, "priority": priority, "match": match, "actions": actions, "n_packets": packets}
            for priority, match, actions, packets in rows]


def ports(*received):
    return [{"port": number, "rx_packets": count} for number, count in enumerate(received, start=1)]


BEFORE = Snapshot(flows={"s1": flows((32768, "", "NORMAL", 8))}, ports={"s1": ports(4, 4, 0)})
AFTER = Snapshot(flows={"s1": flows((60000, "dl_dst=00:00:00:00:00:03", "output:3", 3),
                                    (32768, "", "NORMAL", 13))},
                 ports={"s1": ports(8, 4, 4)}, before_step=BEFORE)


def test_flow_packets_is_the_delta_since_the_previous_step_new_flows_from_zero():
    checks_book, checks = book()
    checks_book.flow_packets("s1", 3, priority=60000, match="dl_dst=00:00:00:00:00:03")
    checks_book.flow_packets("s1", 5, actions="NORMAL")
    checks_book.flow_packets("s1", 4, actions="NORMAL")
    assert [check.evaluate(AFTER) for check in checks] == [True, True, False]
    assert checks[2].observed == 5


def test_flow_packets_needs_exactly_one_flow():
    checks_book, checks = book()
    checks_book.flow_packets("s1", 0, actions="drop")
    checks_book.flow_packets("s1", 0, priority=None)
    assert [check.evaluate(AFTER) for check in checks] == [False, False]
    assert [check.observed for check in checks] == ["0 flows match", "2 flows match"]


def test_flows_count_every_frame_compares_flow_deltas_with_port_rx_deltas():
    checks_book, checks = book()
    checks_book.flows_count_every_frame("s1")
    [check] = checks
    assert check.evaluate(AFTER) and (check.expected, check.observed) == (8, 8)
    unexplained = Snapshot(flows=AFTER.flows, ports={"s1": ports(9, 4, 4)}, before_step=BEFORE)
    assert not check.evaluate(unexplained) and (check.expected, check.observed) == (9, 8)


def test_flow_present_and_trace_hits():
    checks_book, checks = book()
    checks_book.flow_present("s1", priority=60000, match="dl_dst=00:00:00:00:00:03", actions="output:3")
    checks_book.trace_hits("s1", "h1 > h3 echo request", priority=60000, match="dl_dst=00:00:00:00:00:03")
    checks_book.trace_hits("s1", "h3 > h1 echo reply", priority=60000, match="dl_dst=00:00:00:00:00:03")
    snapshot = Snapshot(flows=AFTER.flows, traces=[
        {"switch": "s1", "packet": "h1 > h3 echo request", "priority": 60000, "match": "dl_dst=00:00:00:00:00:03"},
        {"switch": "s1", "packet": "h3 > h1 echo reply", "priority": 32768, "match": ""}])
    assert [check.evaluate(snapshot) for check in checks] == [True, True, False]
    assert checks[2].observed == "priority=32768"


@pytest.mark.parametrize("state, message", [
    (lambda book: book.mac_not_learned("s1", "h9"), "no host 'h9' in this topology (hosts: h1, h2, h3)"),
    (lambda book: book.mac_learned("s2", "h1", port=1), "no switch 's2' in this topology (switches: s1)"),
    (lambda book: book.every_mac_learned("s1", []), "was given no hosts: it would check nothing"),
    (lambda book: book.ping_loss("h1", "h4", percent=0), "no host 'h4'"),
    (lambda book: book.flow_table_empty("s9"), "no switch 's9'"),
    (lambda book: book.mac_table_empty("s1", by="switches"), 'by must be "switch" or "controller"'),
])
def test_a_check_about_what_the_network_does_not_have_is_an_error(state, message):
    checks_book, checks = book()
    with pytest.raises(HarnessError, match=message.replace("(", r"\(").replace(")", r"\)")):
        state(checks_book)
    assert checks == []


def test_a_counter_the_controller_does_not_keep_is_an_error_not_zero():
    checks_book, checks = book()
    checks_book.controller_counted("packet_inz", 0)
    [check] = checks
    with pytest.raises(HarnessError, match="keeps no counter 'packet_inz' \\(its counters: packet_ins\\)"):
        check.evaluate(Snapshot(controller_stats={"packet_ins": 3}))
    checks_book.controller_counted("packet_ins", 3)
    assert checks[1].evaluate(Snapshot(controller_stats={"packet_ins": 3}))
