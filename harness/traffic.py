"""Traffic: what the hosts send. Pings, the all-pairs probe, one broadcast from every host,
static ARP entries, and waiting until the hosts have no ARP in flight. Every function takes
the run's network and its CommandRunner (which run the commands and keep the transcript)."""
import ipaddress
import json
import time

from .errors import HarnessError
from .ovs import unread_bytes
from .parsers import parse_fping, parse_ping
from .tools import CommandRunner
from .waiting import poll_until, wait_until

# The flooding one wave of reachability probes may ask of the switches at once when it
# resolves ARP, counted in frame copies; a switch handling a broadcast at all costs about
# SWITCH_COST copies more. Measured on the userspace datapath: 16 sources of 128 hosts on
# one switch, or 8 of a linear chain of 32 switches with 2 hosts each, probing all others,
# dropped nothing, twice as many dropped broadcasts; measured again later, up to 8 % of the
# pairs of 128 hosts needed a second try, a quarter on the kernel datapath in the test VM
# (README, Scale): the retries, not this budget, keep every pair reachable.
FLOOD_BUDGET = 320_000
SWITCH_COST = 32
# With the ARP entries filled beforehand a wave floods nothing: it is as many sources as the
# machine forwards without loss, found by the probe itself (see reachability), from here.
UNICAST_WAVE = 32
PROBE_INTERVAL_MS = 1       # fping -i: between one source's echo requests to its targets
LONGEST_WAIT_MS = 10_000    # fping -t: the most a probe's attempt waits for a reply
RESOLVE = ("arp", "static")
# How a host's ARP retries: Linux's defaults, set on every host interface (QuietHost) so that
# every machine sends the same frames, and so that settle knows when an entry has sent its
# last request. An unresolved entry broadcasts mcast_solicit requests, retrans_time_ms apart;
# a stale one being confirmed sends ucast_solicit unicast ones, then mcast_resolicit
# broadcasts; app_solicit ones go to a user-space daemon (none here).
ARP_RETRIES = {"ucast_solicit": 3, "app_solicit": 0, "mcast_solicit": 3, "mcast_resolicit": 0,
               "retrans_time_ms": 1000}
ARP_IN_FLIGHT = {"INCOMPLETE", "DELAY", "PROBE"}


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


def settle(network, tools, timeout=10.0):
    """Wait until no host is resolving or confirming a neighbour (ARP in flight).

    An unresolved entry keeps retrying and a stale one sends confirmation probes; both
    would add frames to the next step's counters. An entry that has sent its last request
    (ARP_RETRIES) sends nothing more: it only fails a retransmission time later. Once every
    ovs-vswitchd of the run has read the frames its ports received, that last request among
    them, and a revalidator pass has counted them, such an entry is deleted instead (`ip
    neigh flush`, in the transcript), as failing would have left it: the next step starts as
    it would have a second later. When a switch runs on another server (whose sockets are
    not read here) or the daemons do not catch up within that second, it is waited out.
    Returns the seconds waited."""
    started = time.monotonic()
    pidfiles = network.vswitchd_pidfiles()
    spent = _wait_for_arp(network, timeout, spent_is_done=pidfiles is not None)
    if spent and poll_until(lambda: not any(unread_bytes(pidfile) for pidfile in pidfiles),
                            ARP_RETRIES["retrans_time_ms"] / 1000):
        # A frame that hit a datapath flow counts on its OpenFlow rule, and teaches NORMAL its
        # source MAC, when a revalidator pass pushes the flow's stats: a pass that came after
        # the next step changed the flow table would credit its new rules.
        network.wait_for_revalidators()
        flushed = tools.run_all([(["ip", "neigh", "flush", "nud", "incomplete", "nud", "probe"], network.host(name))
                                 for name in spent])
        for name, output in zip(spent, flushed):
            if output.strip():
                raise HarnessError(f"could not delete {name}'s failing ARP entries: {output.strip().splitlines()[0]}")
    elif spent:
        _wait_for_arp(network, timeout, spent_is_done=False)
    return time.monotonic() - started


def _wait_for_arp(network, timeout, spent_is_done):
    """Wait until no host has ARP in flight, an entry that has sent its last request counting
    as done if spent_is_done; return the hosts with such entries, sorted."""
    spent = set()

    def quiet():
        # Every host at once: one after another took 0.7 s a poll with 254 hosts; those of
        # another server in one session there. (A poll is not a step's command: not in the
        # transcript.)
        names = network.hosts()
        listings = CommandRunner().run_each([(["ip", "-s", "-j", "neigh", "show"], network.host(name))
                                             for name in names])
        spent.clear()
        in_flight = False
        for name, listing in zip(names, listings):
            for entry in json.loads(listing or "[]"):
                if spent_is_done and _sent_last_request(entry):
                    spent.add(name)
                elif ARP_IN_FLIGHT & set(entry.get("state", [])):
                    in_flight = True
        return not in_flight

    wait_until(quiet, timeout, what="hosts to finish ARP")
    return sorted(spent)


def _sent_last_request(entry):
    """Whether a neighbour entry (a row of `ip -s -j neigh show`) being resolved (INCOMPLETE)
    or confirmed (PROBE) has sent the last ARP request ARP_RETRIES allow it. Linux counts an
    entry's requests in `probes`; a new entry starts at ucast_solicit (neigh_max_probes,
    __neigh_event_send in net/core/neighbour.c)."""
    state, sent = entry.get("state", []), entry.get("probes", 0)
    first = ARP_RETRIES["ucast_solicit"] + ARP_RETRIES["app_solicit"]
    if "INCOMPLETE" in state:
        return sent >= first + ARP_RETRIES["mcast_solicit"]
    if "PROBE" in state:
        return sent >= first + ARP_RETRIES["mcast_resolicit"]
    return False
