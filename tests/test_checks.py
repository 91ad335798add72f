"""The check vocabulary evaluated on snapshots built by hand."""
from harness.checks import CheckBook, Snapshot

HOSTS_BY_MAC = {"00:00:00:00:00:01": "h1", "00:00:00:00:00:02": "h2", "00:00:00:00:00:03": "h3"}


def book():
    checks = []
    return CheckBook(HOSTS_BY_MAC, checks.append), checks


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
