"""Packet captures: where a frame did and did not arrive, proven with tcpdump.

A capture point is a host (the frames delivered to it: `tcpdump -Q in` on its interface, in
its namespace) or a switch port (the frames the switch sent out of it: `tcpdump -Q out` on
the port's interface; or, for a port tcpdump cannot see, such as a patch port, an OVS
mirror of the frames sent out of it to an internal capture port, `tcpdump -Q in` there).
Each writes a pcap file in the run folder's captures/, packet by packet (-U, immediate
mode), and its frames are read back as rows of the run's `frames` table. A point on another
server (a run on several) is captured there and streamed here: tcpdump writes to its
standard output, which ssh carries into the pcap file of this machine.
"""
import io
import os
import select
import signal
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import dpkt

from .cleanup import process_record, stat_record
from .errors import HarnessError
from .interrupts import uninterrupted
from .tools import tool_environment

BROADCAST = "ff:ff:ff:ff:ff:ff"
SNAP_LENGTH = 128       # bytes kept of each frame: its Ethernet, VLAN, ARP, IP and ICMP headers
READY_TIMEOUT = 10.0    # seconds tcpdump may take to start listening
ARP_OPS = {1: "arp request", 2: "arp reply"}
ICMP_TYPES = {8: "echo request", 0: "echo reply"}
# Before a remote tcpdump starts, the shell that becomes it (exec keeps the pid and start
# time) prints its /proc stat line: the pid to stop it by, and with the start time, the
# record `clean` checks before it kills a remote process after a SIGKILLed run.
NAMED_ON_STDERR = ["sh", "-c", 'cat "/proc/$$/stat" >&2 && exec "$@"', "sh"]
TCP_FLAGS = ((dpkt.tcp.TH_SYN, "syn"), (dpkt.tcp.TH_RST, "rst"), (dpkt.tcp.TH_FIN, "fin"), (dpkt.tcp.TH_ACK, "ack"))


@dataclass
class CapturePoint:
    """Where frames are captured: `name` (a host's name, or the switch port's interface
    name), the interface tcpdump listens on, the host whose namespace that is (None: the
    root namespace), the direction it keeps, and `method`, saying all that in words; `vlan`
    is the access VLAN of the host or port, which untagged frames seen there belong to."""
    name: str
    interface: str
    host: Optional[str]
    direction: str
    method: str
    mirror: Optional[str] = None    # the switch whose mirror feeds the interface
    vlan: Optional[int] = None      # the VLAN of the untagged frames seen there, if known
    node: Optional[str] = None      # the host or switch whose interface it is


@dataclass
class Elsewhere:
    """Where a capture point on another server of a run on several is: the server's name,
    `there(argv)`, the argv that runs argv in that server's root namespace, and the pid
    there of the host whose namespace the point is in (None: the root namespace)."""
    server: str
    there: Callable
    namespace_pid: Optional[int] = None

    def argv(self, argv):
        """The argv that runs argv at the point, on its server."""
        inside = ["mnexec", "-a", str(self.namespace_pid)] if self.namespace_pid else []
        return self.there([*inside, *argv])


def mac_text(raw):
    return ":".join(f"{byte:02x}" for byte in raw)


def ip_text(raw):
    return ".".join(str(byte) for byte in raw)


def frame_row(timestamp, raw):
    """Decode one captured frame into a row: time, src_mac, dst_mac, vlan (0: untagged),
    ethertype, kind ("arp request", "echo reply", "tcp syn", ...), ip_src, ip_dst (ARP's
    sender and target addresses, or IPv4's), icmp_seq, dst_port (TCP's and UDP's)."""
    frame = dpkt.ethernet.Ethernet(raw)
    tags = getattr(frame, "vlan_tags", None) or []
    ethertype = tags[-1].type if tags else frame.type
    row = {"time": timestamp, "src_mac": mac_text(frame.src), "dst_mac": mac_text(frame.dst),
           "vlan": tags[0].id if tags else 0, "ethertype": f"0x{ethertype:04x}",
           "kind": f"ethertype 0x{ethertype:04x}", "ip_src": "", "ip_dst": "", "icmp_seq": None, "dst_port": None}
    payload = frame.data
    if isinstance(payload, dpkt.arp.ARP):
        row.update(kind=ARP_OPS.get(payload.op, f"arp op {payload.op}"),
                   ip_src=ip_text(payload.spa), ip_dst=ip_text(payload.tpa))
    elif isinstance(payload, dpkt.ip.IP):
        row.update(ip_src=ip_text(payload.src), ip_dst=ip_text(payload.dst), kind=f"ip protocol {payload.p}")
        if isinstance(payload.data, dpkt.icmp.ICMP):
            icmp = payload.data
            row["kind"] = ICMP_TYPES.get(icmp.type, f"icmp type {icmp.type}")
            if icmp.type in ICMP_TYPES and isinstance(icmp.data, dpkt.icmp.ICMP.Echo):
                row["icmp_seq"] = icmp.data.seq
        elif isinstance(payload.data, (dpkt.tcp.TCP, dpkt.udp.UDP)):
            row["dst_port"] = payload.data.dport
            row["kind"] = "udp" if isinstance(payload.data, dpkt.udp.UDP) else \
                " ".join(["tcp", *(name for flag, name in TCP_FLAGS if payload.data.flags & flag)])
    return row


def read_pcap(path):
    """Return the rows of every whole frame in the pcap file at `path` (a frame tcpdump is
    still writing is left for the next read)."""
    data = Path(path).read_bytes()
    if len(data) < PCAP_HEADER:     # not even the file header yet
        return []
    reader = dpkt.pcap.Reader(io.BytesIO(data[:_whole_records_end(data, _byte_order(data))]))
    return [frame_row(timestamp, raw) for timestamp, raw in reader]


PCAP_HEADER, RECORD_HEADER = 24, 16


def _byte_order(data):
    """The byte order of a pcap file ("<" or ">"), from its magic number."""
    return "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"


def _whole_records_end(data, order):
    """The offset where the last whole record of a pcap file ends: dpkt would yield a
    record tcpdump is still writing, cut short."""
    end = PCAP_HEADER
    while end + RECORD_HEADER <= len(data):
        (captured,) = struct.unpack(order + "I", data[end + 8:end + 12])
        if end + RECORD_HEADER + captured > len(data):
            break
        end += RECORD_HEADER + captured
    return end


class Captures:
    """The captures of one run: started by Lab.capture, read at every snapshot, stopped
    when the run ends. Each tcpdump is recorded in the run's state as it starts, so `clean`
    can stop it after a SIGKILLed run."""

    def __init__(self, folder, tools, state):
        self.folder = Path(folder) / "captures"
        self.tools = tools
        self.state = state
        self.points = {}        # name -> CapturePoint
        self._processes = {}    # name -> Popen (of tcpdump, or of the ssh that carries a remote one's output)
        self._remote = {}       # name -> (Elsewhere, record of the tcpdump there)

    def start(self, point, namespace_of=None, elsewhere=None):
        """Start capturing at `point` (a CapturePoint); return when tcpdump listens.
        namespace_of: the Mininet host to run tcpdump in, for a host's point on this machine;
        elsewhere: an Elsewhere, for a point on another server."""
        if point.name in self.points:
            raise HarnessError(f"{point.name} is captured already")
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = ["tcpdump", "-i", point.interface, "-Q", point.direction, "-U", "--immediate-mode", "-n",
                "-s", str(SNAP_LENGTH), "-Z", "root", "-w", "-" if elsewhere else str(self.pcap(point.name))]
        # From its start to its record in the run's state (a remote one's too, which comes
        # with its first line), a tcpdump is not parted from its record by a signal.
        with uninterrupted():
            self._start(point, argv, namespace_of, elsewhere)

    def _start(self, point, argv, namespace_of, elsewhere):
        """Start tcpdump (`argv`) where `point` is, as `start` says; record it."""
        try:
            if elsewhere is not None:
                with open(self.pcap(point.name), "wb") as pcap:
                    process = subprocess.Popen(elsewhere.argv([*NAMED_ON_STDERR, *argv]), stdout=pcap,
                                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                               env=tool_environment(), start_new_session=True)
            elif namespace_of is not None:
                process = namespace_of.popen(argv, env=tool_environment(), stdin=subprocess.DEVNULL)
            else:
                process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           stdin=subprocess.DEVNULL, env=tool_environment(),
                                           start_new_session=True)
        except FileNotFoundError:
            raise HarnessError("tcpdump is not installed: run `sudo ./setup.sh`") from None
        self._processes[point.name] = process
        self.points[point.name] = point
        self.state.update(captures=[process_record(each.pid) for each in self._processes.values()])
        where = f"{point.host or 'sh'}@{elsewhere.server}" if elsewhere else point.host or "sh"
        self.tools.transcript.record(where, argv, "", 0)
        said = self._wait_listening(point, process)
        if elsewhere is not None:
            self._remote[point.name] = (elsewhere, self._record_remote(elsewhere.server, said))

    def _record_remote(self, server, said):
        """Record the remote tcpdump that `said` (its stderr so far) names in the run's
        state, under its server; return its record ({"pid", "start"})."""
        record = stat_record(said.decode(errors="replace").splitlines()[0])
        servers = self.state.read()["servers"]
        servers[server]["captures"] = servers[server].get("captures", []) + [record]
        self.state.update(servers=servers)
        return record

    def _wait_listening(self, point, process):
        """Wait until tcpdump says it is listening and return what it said; raise
        HarnessError with it if tcpdump exits or stays silent."""
        said, deadline = b"", time.monotonic() + READY_TIMEOUT
        while b"listening on" not in said:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([process.stderr], [], [], max(0.0, remaining))
            chunk = os.read(process.stderr.fileno(), 4096) if ready else b""
            if not chunk:
                process.kill()
                process.wait()
                reason = said.decode(errors="replace").strip().splitlines()
                raise HarnessError(f"tcpdump could not capture at {point.name} ({point.interface}): "
                                   f"{reason[-1] if reason else f'not listening after {READY_TIMEOUT:g} s'}")
            said += chunk
        return said

    def pcap(self, name):
        """The pcap file of capture point `name`."""
        return self.folder / f"{name}.pcap"

    def frames(self):
        """Return {point name: [frame rows so far]} for every capture point."""
        return {name: [{"at": name, **row} for row in read_pcap(self.pcap(name))] for name in self.points}

    def stop(self):
        """Stop every tcpdump (it writes out what it holds) and wait for it. A remote
        one is stopped on its server: its ssh then ends with the last of its output."""
        for name, process in self._processes.items():
            if process.poll() is not None:
                continue
            if name in self._remote:
                elsewhere, record = self._remote[name]
                self.tools.run(elsewhere.there(["kill", "-TERM", str(record["pid"])]), check=False)
            else:
                process.send_signal(signal.SIGTERM)
        for process in self._processes.values():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()

    def metadata(self):
        """{point name: how it was captured}, for the run's metadata."""
        return {name: {"method": point.method, "pcap": f"captures/{name}.pcap"} for name, point in self.points.items()}


def mirror_argv(switch, port_name, capture_port):
    """ovs-vsctl argv: add internal port `capture_port` to `switch` and mirror to it every
    frame the switch sends out of `port_name` (the Mirror table's select_dst_port). OVS
    sends nothing else to a mirror's output port, and forwards nothing it receives there."""
    return ["ovs-vsctl", "--", "add-port", switch, capture_port,
            "--", "set", "Interface", capture_port, "type=internal",
            "--", "--id=@watched", "get", "Port", port_name,
            "--", "--id=@output", "get", "Port", capture_port,
            "--", "--id=@mirror", "create", "Mirror", f"name={capture_port}",
            "select_dst_port=@watched", "output_port=@output",
            "--", "add", "Bridge", switch, "mirrors", "@mirror"]
