"""Traffic: what the hosts send. Pings, the all-pairs probe, one broadcast from every host,
static ARP entries, and waiting until the hosts have no ARP in flight. Every function takes
the run's network and its CommandRunner (which run the commands and keep the transcript)."""
import ipaddress
import json
import time

from .errors import HarnessError
from .parsers import parse_fping, parse_ping
from .waiting import poll_until, wait_until

# The flooding one wave of reachability probes may ask of the switches at once when it
# resolves ARP, counted in frame copies; a switch handling a broadcast at all costs about
# SWITCH_COST copies more. Measured on the userspace datapath: 16 sources of 128 hosts on
# one switch, or 8 of a linear chain of 32 switches with 2 hosts each, probing all others,
# drop nothing; twice as many drop broadcasts.
FLOOD_BUDGET = 320_000
SWITCH_COST = 32
# With the ARP entries filled beforehand a wave floods nothing: it is as many sources as the
# machine forwards without loss, found by the probe itself (see reachability), from here.
UNICAST_WAVE = 32
PROBE_INTERVAL_MS = 1       # fping -i: between one source's echo requests to its targets
LONGEST_WAIT_MS = 10_000    # fping -t: the most a probe's attempt waits for a reply
RESOLVE = ("arp", "static")


# A TCP connection attempt that sends exactly one SYN: it gives up after 0.5 s, before TCP
# retransmits the SYN (its first retransmission timeout is 1 s, RFC 6298).
ONE_SYN = ("import socket, sys\n"
           "try:\n"
           "    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.5)\n"
           "    print('connected')\n"
           "except OSError as problem:\n"
           "    print(problem)\n")


def require_tcp_arguments(address, port):
    """Raise HarnessError unless `address` is an IPv4 address and `port` a TCP port."""
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        raise HarnessError(f"{address!r} is not an IPv4 address") from None
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise HarnessError(f"a TCP port is a number from 1 to 65535, not {port!r}")


def tcp_syn(network, tools, src, address, port):
    """Send exactly one TCP SYN from host src to address:port (see ONE_SYN); return
    "connected", or why it did not (timed out, refused)."""
    require_tcp_arguments(address, port)
    return tools.run(["python3", "-c", ONE_SYN, address, port], host=network.host(src)).strip()


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


def require_probe_arguments(timeout_ms, resolve, tries):
    """Raise HarnessError unless the all-pairs probe's arguments are ones it takes."""
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or not 10 <= timeout_ms <= LONGEST_WAIT_MS:
        raise HarnessError(f"reachability timeout_ms must be a whole number from 10 to {LONGEST_WAIT_MS}, "
                           f"not {timeout_ms!r}")
    if resolve not in RESOLVE:
        raise HarnessError(f"reachability resolve must be \"arp\" or \"static\", not {resolve!r}")
    if not isinstance(tries, int) or isinstance(tries, bool) or not 1 <= tries <= 10:
        raise HarnessError(f"reachability tries must be a whole number from 1 to 10, not {tries!r}")


def reachability(network, tools, timeout_ms=1000, resolve="arp", tries=3,
                 on_wave=lambda done, total: None):
    """Ping every host from every other host, like Mininet's pingAll, with one `fping` per
    source host and many sources at once; return the rows {src, dst, reachable, tries}:
    tries is the attempt that got the pair's reply (1 first time), or `tries` for a pair
    that never answered. on_wave(done, total) is told how many of the first attempt's
    sources have finished.

    resolve "arp": the hosts resolve each other as they probe. Each source's first echo
    requests start ARP broadcasts, one per destination, that every switch floods, so a
    wave of sources stays within FLOOD_BUDGET. resolve "static": every host is first given
    a permanent ARP entry for every other (static_arp), so the probe floods nothing, for
    an experiment that does not study ARP.

    A pair whose reply did not come is probed again, up to `tries` attempts in all, each
    waiting twice as long as the one before, up to LONGEST_WAIT_MS (as TCP backs off its
    retransmission timer, RFC 6298 5.5). So neither a probe lost in a busy moment nor an
    echo slowed on a long path is an unreachable pair: in one ovs-vswitchd each hop is a
    pass of its loop over every bridge, and on a chain of 64 switches under load an echo
    took over a second. Waves adapt to what the machine forwards: a wave that lost a
    probe halves the next one, a clean one lets it grow by half, so a slower machine or
    datapath finds its own pace."""
    require_probe_arguments(timeout_ms, resolve, tries)
    hosts = network.hosts()
    ips = {name: network.host(name).IP() for name in hosts}
    if resolve == "static":
        static_arp(network, tools)
        most = UNICAST_WAVE
    else:
        broadcast_cost = network.port_count() + SWITCH_COST * len(network.switches())
        most = max(1, FLOOD_BUDGET // max(1, (len(hosts) - 1) * broadcast_cost))
    pending = {src: [dst for dst in hosts if dst != src] for src in hosts}
    answered_in = {}
    for attempt in range(1, tries + 1):
        sources, wave, done = [src for src in hosts if pending[src]], most, 0
        waiting_ms = min(timeout_ms * 2 ** (attempt - 1), LONGEST_WAIT_MS)
        while sources:
            batch, sources = sources[:wave], sources[wave:]
            commands = [(["fping", "-c", "1", "-t", waiting_ms, "-i", PROBE_INTERVAL_MS, "-q",
                          *(ips[dst] for dst in pending[src])], network.host(src)) for src in batch]
            lost = 0
            for src, output in zip(batch, tools.run_all(commands, timeout=waiting_ms / 1000 + 60)):
                replies = parse_fping(output)
                for dst in pending[src]:
                    if replies.get(ips[dst], (0, 0))[1] > 0:
                        answered_in[(src, dst)] = attempt
                lost += sum((src, dst) not in answered_in for dst in pending[src])
                pending[src] = [dst for dst in pending[src] if (src, dst) not in answered_in]
            wave = max(1, wave // 2) if lost else min(most, wave + max(1, wave // 2))
            if attempt == 1:
                done += len(batch)
                on_wave(done, len(hosts))
        if not any(pending.values()):
            break
    return [{"src": src, "dst": dst, "reachable": (src, dst) in answered_in,
             "tries": answered_in.get((src, dst), tries)} for src in hosts for dst in hosts if dst != src]


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
    """Give every host a permanent ARP entry for every other host, so no ARP frame is sent:
    one `ip -batch` per host, all hosts at once."""
    hosts = [network.host(name) for name in network.hosts()]
    batches = ["".join(f"neigh replace {peer.IP()} lladdr {peer.MAC()} dev {host.defaultIntf().name} nud permanent\n"
                       for peer in hosts if peer is not host) for host in hosts]
    outputs = tools.run_all([(["ip", "-batch", "-"], host) for host in hosts], inputs=batches)
    for host, output in zip(hosts, outputs):
        if output.strip():
            raise HarnessError(f"could not fill {host.name}'s ARP table: {output.strip().splitlines()[0]}")


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
