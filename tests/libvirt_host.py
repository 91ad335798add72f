"""libvirt on this machine for the Vagrant test: started if it was not running, and afterwards
everything it made for the test taken back, so that the machine is as it was.

What libvirt and vagrant-libvirt leave behind after `vagrant destroy` (measured, libvirt 9.0,
vagrant-libvirt 0.11.2): the box's volume in the storage pool, the pool itself when
vagrant-libvirt had to make it, the daemons, and the firewall chains libvirt adds the first
time it starts a network (LIBVIRT_INP, LIBVIRT_FWI... with the rules that jump to them, in
base chains and tables it may have made for them), which it never removes.
"""
import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.waiting import wait_until

VIRSH = ["virsh", "--connect", "qemu:///system", "--quiet"]
# (daemon, its pid file when started with -d)
DAEMONS = [("virtlogd", "/run/virtlogd.pid"), ("libvirtd", "/run/libvirtd.pid")]
LIBVIRT_CHAIN_PREFIX = "LIBVIRT_"
DAEMON_TIMEOUT = 30
# Where libvirt keeps persistent domains, networks and pools, the default pool's volumes, and
# each domain's log.
DOMAIN_LOGS = "/var/log/libvirt/qemu"
LIBVIRT_FOLDERS = ("/etc/libvirt/qemu", "/etc/libvirt/qemu/networks", "/etc/libvirt/storage",
                   "/var/lib/libvirt/images", DOMAIN_LOGS)


def kvm_usable():
    """The Vagrantfile's rule: KVM where the CPU offers hardware virtualisation and /dev/kvm
    can be opened (this project's machine has /dev/kvm, but no vmx flag: KVM hangs there)."""
    flags = re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE).group(1).split()
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and bool({"vmx", "svm"} & set(flags))


def virsh(*args, check=True):
    return subprocess.run([*VIRSH, *args], capture_output=True, text=True, check=check, timeout=60).stdout


def names(*args):
    """The names virsh lists, one a line."""
    return sorted(line.strip() for line in virsh(*args).splitlines() if line.strip())


def libvirt_answers():
    return subprocess.run([*VIRSH, "version"], capture_output=True, timeout=30).returncode == 0


def ruleset():
    """The firewall as nft's JSON objects (tables, chains, rules), metainfo left out."""
    listing = subprocess.run(["nft", "--json", "list", "ruleset"], capture_output=True, text=True,
                             check=True, timeout=30).stdout
    return [entry for entry in json.loads(listing)["nftables"] if "metainfo" not in entry]


def comparable(objects):
    """The ruleset as comparable text: without handles (they change when a table is made
    again) and rules' counters (they count what the machine sends meanwhile)."""
    def plain(entry):
        return {kind: {key: ([{"counter": None} if "counter" in expression else expression for expression in value]
                             if key == "expr" else value)
                       for key, value in body.items() if key != "handle"}
                for kind, body in entry.items()}
    return sorted(json.dumps(plain(entry), sort_keys=True) for entry in objects)


def jump_target(rule):
    for expression in rule.get("expr", []):
        for verdict in ("jump", "goto"):
            if verdict in expression:
                return expression[verdict]["target"]
    return None


@dataclass
class LibvirtHost:
    """The machine's libvirt around one test: `start()` before it, `take_back()` after."""
    box_volume_prefix: str
    started: list = field(default_factory=list)
    firewall_before: list = field(default_factory=list)
    domain_logs_before: list = field(default_factory=list)
    pools_before: list = None

    def start(self):
        """Record the firewall, start libvirt's daemons if they do not answer (no systemd
        here: as `virtlogd -d` and `libvirtd -d`), then record libvirt's storage pools.

        Where /dev/kvm exists but KVM is not usable (this project's machine), libvirtd runs
        in a mount namespace of its own with /dev/kvm masked: while it can open /dev/kvm it
        probes qemu again for KVM on every domain definition (32 s each here)."""
        self.firewall_before = ruleset()
        self.domain_logs_before = listing(DOMAIN_LOGS)
        if not libvirt_answers():
            for daemon, pid_file in DAEMONS:
                argv = [daemon, "-d"]
                if daemon == "libvirtd" and os.path.exists("/dev/kvm") and not kvm_usable():
                    argv = ["unshare", "--mount", "--propagation", "private",
                            "sh", "-c", "mount --bind /dev/null /dev/kvm && exec libvirtd -d"]
                subprocess.run(argv, check=True, timeout=30)
                self.started.append((daemon, pid_file))
            wait_until(libvirt_answers, DAEMON_TIMEOUT, "libvirtd to answer")
        self.pools_before = names("pool-list", "--all", "--name")

    def take_back(self):
        """Remove the box's volumes and a pool vagrant-libvirt made, stop the daemons this
        object started, and remove the firewall chains (and tables) and the domains' logs
        libvirt made."""
        if libvirt_answers() and self.pools_before is not None:
            for pool in names("pool-list", "--name"):
                for volume in names("vol-list", pool):
                    if volume.split()[0].startswith(self.box_volume_prefix):
                        virsh("vol-delete", "--pool", pool, volume.split()[0])
            for pool in set(names("pool-list", "--all", "--name")) - set(self.pools_before):
                virsh("pool-destroy", pool, check=False)
                virsh("pool-undefine", pool)
        for daemon, pid_file in reversed(self.started):
            with open(pid_file) as pids:
                os.kill(int(pids.read()), signal.SIGTERM)
            wait_until(lambda name=daemon: not processes(name), DAEMON_TIMEOUT, f"{daemon} to stop")
        self.started.clear()
        self._remove_new_libvirt_chains()
        for log in set(listing(DOMAIN_LOGS)) - set(self.domain_logs_before):
            os.remove(os.path.join(DOMAIN_LOGS, log))

    def _remove_new_libvirt_chains(self):
        before = {(body["family"], body["table"], body["name"]) for entry in self.firewall_before
                  for kind, body in entry.items() if kind == "chain"}
        tables_before = {(body["family"], body["name"]) for entry in self.firewall_before
                         for kind, body in entry.items() if kind == "table"}
        now = ruleset()
        new_chains = {(body["family"], body["table"], body["name"]) for entry in now
                      for kind, body in entry.items()
                      if kind == "chain" and body["name"].startswith(LIBVIRT_CHAIN_PREFIX)} - before
        jumped_from = set()    # the chains libvirt's jumps were in (INPUT, FORWARD, OUTPUT...)
        for entry in now:
            rule = entry.get("rule")
            if rule and (rule["family"], rule["table"], jump_target(rule)) in new_chains:
                nft("delete", "rule", rule["family"], rule["table"], rule["chain"], "handle", str(rule["handle"]))
                jumped_from.add((rule["family"], rule["table"], rule["chain"]))
        for family, table, chain in new_chains:
            nft("flush", "chain", family, table, chain)
        for family, table, chain in new_chains:
            nft("delete", "chain", family, table, chain)
        # iptables made the base chain a jump went in if it was not there (on a fresh machine,
        # filter's INPUT and OUTPUT): gone too, when nothing else is in it now.
        in_use = {(entry["rule"]["family"], entry["rule"]["table"], entry["rule"]["chain"])
                  for entry in ruleset() if "rule" in entry}
        for family, table, chain in jumped_from - before - in_use:
            nft("delete", "chain", family, table, chain)
        left = ruleset()
        with_rules = {(entry["rule"]["family"], entry["rule"]["table"]) for entry in left if "rule" in entry}
        for entry in left:
            table = entry.get("table")
            if table and (table["family"], table["name"]) not in tables_before | with_rules:
                nft("delete", "table", table["family"], table["name"])


def machine_state():
    """What the test compares before and after, whether libvirtd runs or not: the firewall,
    dnsmasq and libvirt processes, libvirt's definitions (domains, networks, pools) and the
    files in its images folder (volumes)."""
    return {"firewall": comparable(ruleset()),
            "processes": {name: processes(name) for name in ("dnsmasq", "qemu-system-x86",
                                                             *(daemon for daemon, _pid in DAEMONS))},
            **{folder: listing(folder) for folder in LIBVIRT_FOLDERS}}


def listing(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def nft(*args):
    subprocess.run(["nft", *args], check=True, timeout=30)


def processes(name):
    """pids of the running (not zombie) processes called name (as the kernel keeps it: its
    first 15 characters)."""
    found = subprocess.run(["pgrep", "--exact", name], capture_output=True, text=True).stdout.split()
    return sorted(pid for pid in found if _state(pid) != "Z")


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"
