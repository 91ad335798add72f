"""Traffic: what the hosts send. Pings, the all-pairs probe, one broadcast from every host,
static ARP entries, and waiting until the hosts have no ARP in flight. Every function takes
the run's network and its CommandRunner (which run the commands and keep the transcript)."""
import json
import time

from .errors import HarnessError
from .parsers import parse_fping, parse_ping
from .waiting import poll_until, wait_until

# The flooding one wave of reachability probes may ask of the switches at once, counted in
# frame copies; a switch handling a broadcast at all costs about SWITCH_COST copies more.
# Measured on the userspace datapath: 16 sources of 128 hosts on one switch, or 8 of a
# linear chain of 32 switches with 2 hosts each, probing all others, drop nothing; twice
# as many drop broadcasts.
FLOOD_BUDGET = 320_000
SWITCH_COST = 32


def require_ping_arguments(count, interval):
    """Raise HarnessError unless count and interval (seconds) are ones ping takes as root."""
    if not isinstance(count, int) or count < 1:
        raise HarnessError(f"ping count must be a whole number of at least 1, not {count!r}")
    if not isinstance(interval, (int, float)) or not 0.01 <= interval <= 60:
        raise HarnessError(f"ping interval must be from 0.01 to 60 seconds, not {interval!r}")


def ping(network, tools, src, dst, count=2, timeout=1, interval=1.0):
    """Ping dst's IP address from src (`src ping -c count dst`, with `-i interval` when it is
    not ping's default second); return the parsed row: src, dst, sent, received, loss, rtt_*."""
    require_ping_arguments(count, interval)
    source, target = network.host(src), network.host(dst)
    spacing = [] if interval == 1 else ["-i", f"{interval:g}"]
    output = tools.run(["ping", "-c", count, *spacing, "-W", timeout, target.IP()],
                       host=source, check=False, timeout=count * interval + timeout + 10)
    return {"src": src, "dst": dst, **parse_ping(output)}


def reachability(network, tools, timeout_ms=1000, on_wave=lambda done, total: None):
    """Ping every host from every other host, like Mininet's pingAll, with one `fping` per
    source host and many sources at once; return the rows {src, dst, reachable}.
    on_wave(done, total) is called after each wave of sources.

    Sources go in waves: each source's first echo requests start ARP broadcasts, one per
    destination, that every switch handles and sends out of every port, and a wave must stay
    within FLOOD_BUDGET, or the switches drop broadcasts and a reachable pair looks
    unreachable (seen from 128 hosts on one switch, all probing at once)."""
    hosts = network.hosts()
    ips = {name: network.host(name).IP() for name in hosts}
    broadcast_cost = network.port_count() + SWITCH_COST * len(network.switches())
    wave = max(1, FLOOD_BUDGET // max(1, (len(hosts) - 1) * broadcast_cost))
    rows = []
    waves = range(0, len(hosts), wave)
    for done, first in enumerate(waves, start=1):
        sources = hosts[first:first + wave]
        commands = [(["fping", "-c", "1", "-t", timeout_ms, "-q", *(ips[dst] for dst in hosts if dst != src)],
                     network.host(src)) for src in sources]
        for src, output in zip(sources, tools.run_all(commands, timeout=timeout_ms / 1000 + 60)):
            answered = parse_fping(output)
            rows += [{"src": src, "dst": dst, "reachable": answered.get(ips[dst], (0, 0))[1] > 0}
                     for dst in hosts if dst != src]
        on_wave(done, len(waves))
    return rows


def announce(network, tools, hosts, learned, switches, timeout):
    """Make each of `hosts` send one broadcast frame, all at once: an echo request to its
    subnet's broadcast address, which hosts do not answer (Linux ignores broadcast pings).
    learned(switch) returns the (MAC, VLAN) pairs a switch has learned. Returns the seconds
    from sending until every switch of `switches` had learned every host's MAC in its VLAN,
    or None if that took more than `timeout`."""
    for name in hosts:
        network.require_host(name)
    for switch in switches:
        network.require_switch(switch)
    wanted = {(network.mac(name), network.vlan_of(name)) for name in hosts}
    started = time.monotonic()
    # -W: ping waits that long for the reply that never comes before it exits.
    pings = tools.start_all([(["ping", "-b", "-c", "1", "-W", "0.1", network.broadcast_address(network.host(name))],
                              network.host(name)) for name in hosts])
    done = poll_until(lambda: all(wanted <= learned(switch) for switch in switches), timeout)
    seconds = time.monotonic() - started
    tools.finish_all(pings)
    return seconds if done else None


def static_arp(network, tools):
    """Give every host a permanent ARP entry for every other host, so no ARP frame is sent."""
    for src in network.hosts():
        host = network.host(src)
        for dst in network.hosts():
            if dst != src:
                peer = network.host(dst)
                tools.run(["ip", "neigh", "replace", peer.IP(), "lladdr", peer.MAC(),
                           "dev", host.defaultIntf().name, "nud", "permanent"], host=host)


def settle(network, timeout=10.0):
    """Wait until no host is resolving or confirming a neighbour (ARP in flight).

    An unresolved entry keeps retrying and a stale one sends a confirmation probe; both
    would add frames to the next step's counters. Returns the seconds waited."""
    busy_states = {"INCOMPLETE", "DELAY", "PROBE"}

    def quiet():
        # Every host at once: one after another took 0.7 s a poll with 254 hosts.
        listings = [network.host(name).popen(["ip", "-j", "neigh", "show"], text=True) for name in network.hosts()]
        states = set()
        for listing in listings:
            out, _err = listing.communicate()
            states.update(state for entry in json.loads(out or "[]") for state in entry.get("state", []))
        return not busy_states & states

    return wait_until(quiet, timeout, what="hosts to finish ARP")
