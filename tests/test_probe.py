"""The all-pairs probe's retries, without a network: a fake runner answers fping as a
network whose replies take a given time would."""
from harness import traffic


class Host:
    def __init__(self, name, ip):
        self.name, self.ip = name, ip

    def IP(self):
        return self.ip


class Network:
    """Three hosts on one switch."""

    def __init__(self):
        self.hosts_by_name = {f"h{i}": Host(f"h{i}", f"10.0.0.{i}") for i in (1, 2, 3)}

    def hosts(self):
        return list(self.hosts_by_name)

    def host(self, name):
        return self.hosts_by_name[name]

    def port_count(self):
        return 3

    def switches(self):
        return ["s1"]


class SlowReplies:
    """Runs fping as a network where an echo to `slow` takes `rtt_ms`, others 1 ms, and
    records each fping's wait (-t)."""

    def __init__(self, slow, rtt_ms):
        self.slow, self.rtt_ms, self.waits = slow, rtt_ms, []

    def run_all(self, commands, timeout):
        outputs = []
        for argv, _host in commands:
            wait = int(argv[argv.index("-t") + 1])
            self.waits.append(wait)
            targets = argv[argv.index("-q") + 1:]
            outputs.append("\n".join(
                f"{ip} : xmt/rcv/%loss = 1/{int((self.rtt_ms if ip == self.slow else 1) < wait)}/0%"
                for ip in targets))
        return outputs


def test_each_try_waits_twice_as_long_so_a_slow_path_is_reachable_on_a_later_try():
    """An echo to h3 takes 3 s: the first try (1 s) and the second (2 s) give up, the third
    (4 s) gets it."""
    runner = SlowReplies(slow="10.0.0.3", rtt_ms=3000)
    rows = traffic.reachability(Network(), runner, timeout_ms=1000, tries=3)
    assert sorted(set(runner.waits)) == [1000, 2000, 4000]
    tries = {(row["src"], row["dst"]): (row["reachable"], row["tries"]) for row in rows}
    assert tries[("h1", "h3")] == tries[("h2", "h3")] == (True, 3)
    assert tries[("h1", "h2")] == tries[("h3", "h1")] == (True, 1)


def test_no_try_waits_longer_than_the_longest_wait():
    """A pair that never answers: ten tries from 5 s wait 5 s, then 10 s, never more."""
    runner = SlowReplies(slow="10.0.0.3", rtt_ms=10 ** 9)
    rows = traffic.reachability(Network(), runner, timeout_ms=5000, tries=10)
    assert sorted(set(runner.waits)) == [5000, traffic.LONGEST_WAIT_MS]
    assert [row["tries"] for row in rows if not row["reachable"]] == [10, 10]
