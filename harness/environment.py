"""The machine a run needs: root, Open vSwitch running, Mininet, and a usable datapath.

`require_*` raise HarnessError with the command that fixes the problem; `doctor_report`
gathers everything for `python -m harness doctor`.
"""
import importlib.metadata
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

from .containers import Docker
from .errors import HarnessError
from .tools import probe

SETUP_HINT = "run `sudo ./setup.sh` in the ovs-harness checkout"
DATAPATHS = ("auto", "kernel", "user")
DATAPATH_LABELS = {"kernel": "kernel (system)", "user": "userspace (netdev)"}


def _output(argv, timeout=10):
    """Return (exit status, stdout + stderr) of argv (see tools.probe)."""
    status, stdout, stderr = probe(argv, timeout)
    return status, (stdout + stderr).strip()


def root_problem():
    """Return why we are not root, or None."""
    if os.geteuid() != 0:
        return "ovs-harness builds networks and needs root: run it with sudo " \
               "(sudo .venv/bin/python -m harness ...)"
    return None


def ovs_problem():
    """Return why Open vSwitch cannot be used (not installed, not running), or None."""
    if not shutil.which("ovs-vsctl"):
        return f"Open vSwitch is not installed: {SETUP_HINT}"
    status, output = _output(["ovs-vsctl", "--timeout=5", "show"])
    if status:
        return ("Open vSwitch is not running (ovs-vsctl show: "
                f"{output.splitlines()[-1] if output else status}): {SETUP_HINT} "
                "or start it with `/usr/share/openvswitch/scripts/ovs-ctl start`")
    return None


def mininet_problem():
    """Return why Mininet cannot be imported by this Python, or None."""
    try:
        import mininet.net  # noqa: F401
    except ImportError:
        return f"Mininet is not installed for this Python: {SETUP_HINT} and use .venv/bin/python"
    if not shutil.which("mnexec"):
        return f"Mininet's mnexec is not on PATH: {SETUP_HINT}"
    return None


def require_runnable():
    """Raise HarnessError for the first thing that keeps a run from working here."""
    for problem in (root_problem(), mininet_problem(), ovs_problem()):
        if problem:
            raise HarnessError(problem)


def kernel_datapath_problem():
    """Return why the kernel datapath (openvswitch.ko) is unusable here, or None."""
    if Path("/sys/module/openvswitch").exists():
        return None
    status, output = _output(["modprobe", "openvswitch"])
    if status == 0 and Path("/sys/module/openvswitch").exists():
        return None
    return f"the openvswitch kernel module is not loaded and `modprobe openvswitch` failed ({output or status})"


PROBE_BRIDGE = "ovsh-probe"
# A first bridge on a datapath makes the datapath: under emulation on a busy machine that
# took ovs-vswitchd over 10 s (a VM booted beside three others).
PROBE_SECONDS = 60


def probe_datapath(kind):
    """Create and delete a bridge on datapath `kind` ("kernel" or "user").

    Returns why OVS could not make it work, or None. The bridge carries our marker, so
    `harness clean` removes it should this be interrupted, and this removes it however the
    probe ends: an `add-br` that did not answer in time may have made it all the same."""
    from .ovs import DATAPATH_TYPES, RUN_ID_KEY
    status, output = _output(["ovs-vsctl", "--", "add-br", PROBE_BRIDGE,
                              "--", "set", "Bridge", PROBE_BRIDGE,
                              f"datapath_type={DATAPATH_TYPES[kind]}",
                              f"external_ids:{RUN_ID_KEY}=doctor"], timeout=PROBE_SECONDS)
    try:
        if status:      # perhaps nothing was made (the bridge may be someone else's)
            return output.splitlines()[-1]
        _status, ofport = _output(["ovs-vsctl", "get", "Interface", PROBE_BRIDGE, "ofport"])
        if ofport != "65534":      # the OpenFlow number of a bridge's LOCAL port
            error = _output(["ovs-vsctl", "get", "Interface", PROBE_BRIDGE, "error"])[1].strip('"[]')
            if error:
                return error
            # ovs-vsctl's own warning, if any: "Error detected while setting up ...".
            return output.splitlines()[0] if output else \
                "the bridge got no OpenFlow port; see /var/log/openvswitch/ovs-vswitchd.log"
        return None
    finally:
        _remove_probe_bridge(RUN_ID_KEY)


def _remove_probe_bridge(run_id_key):
    """Delete the probe bridge if it carries the doctor's marker (a bridge of that name
    without it is someone else's)."""
    _status, owner = _output(["ovs-vsctl", "--if-exists", "get", "Bridge", PROBE_BRIDGE,
                              f"external_ids:{run_id_key}"])
    if owner.strip('"') != "doctor":
        return
    status = _output(["ovs-vsctl", "--if-exists", "del-br", PROBE_BRIDGE], timeout=PROBE_SECONDS)[0]
    # Once ovs-vswitchd has removed the bridge, a userspace bridge's tap may outlive it.
    if status == 0 and Path("/sys/class/net", PROBE_BRIDGE).exists():
        _output(["ip", "link", "del", PROBE_BRIDGE])


@dataclass
class Datapath:
    """The datapath a run uses ("kernel" or "user") and why it was chosen."""
    kind: str
    reason: str

    def __str__(self):
        return f"datapath: {DATAPATH_LABELS[self.kind]}, {self.reason}"


def choose_datapath(requested):
    """Return the Datapath for --datapath `requested` (auto, kernel or user).

    auto takes the datapath the switch's bridges are on, if they are on one (a run on the
    other could not wait for its revalidators: see Network._refuse_clashes), else the
    kernel datapath where the openvswitch module is usable, else userspace. Raises
    HarnessError when `kernel` is asked for and cannot work here."""
    if requested not in DATAPATHS:
        raise HarnessError(f"--datapath must be one of {', '.join(DATAPATHS)}, not {requested!r}")
    if requested == "user":
        return Datapath("user", "as asked (--datapath user)")
    problem = kernel_datapath_problem()
    if requested == "kernel":
        if problem:
            raise HarnessError(f"--datapath kernel is not possible here: {problem}; "
                               "use --datapath user or auto")
        return Datapath("kernel", "as asked (--datapath kernel)")
    in_use = datapaths_in_use()
    if len(in_use) == 1 and set(in_use) <= {"kernel", "user"}:
        [(kind, bridges)] = in_use.items()
        return Datapath(kind, f"because the switch's bridges ({', '.join(bridges)}) are on it "
                              "(OVS waits for one datapath's revalidators only)")
    if problem:
        return Datapath("user", f"because {problem}")
    return Datapath("kernel", "because the openvswitch kernel module is loaded")


def datapaths_in_use():
    """{datapath kind: [its bridges]} of the datapaths this machine's ovs-vswitchd has open
    ({} if it does not answer: a run then says so)."""
    from .ovs import open_datapaths
    status, listing = _output(["ovs-appctl", "dpif/show"])
    return open_datapaths(listing) if status == 0 else {}


BRIDGE_NF_CALL_IPTABLES = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")


def root_forwarding():
    """Return what the root namespace does to the frames it forwards and bridges, which a
    started dockerd changes: {"forward_policy": iptables' FORWARD policy, "bridge_nf_call_iptables":
    0 or 1 (bridged frames go through iptables)}, None for what cannot be read. A run's own
    Linux bridges and iptables rules are in its namespaces, out of their reach: this is
    kept so that a reader of the run sees the machine as it was."""
    status, rules = _output(["iptables", "-w", "-S", "FORWARD"])
    policy = rules.splitlines()[0].split()[-1] if status == 0 and rules.startswith("-P FORWARD") else None
    try:
        bridged = int(BRIDGE_NF_CALL_IPTABLES.read_text())
    except (OSError, ValueError):
        bridged = None
    return {"forward_policy": policy, "bridge_nf_call_iptables": bridged}


def versions():
    """Return the versions of what a run depends on (None for what is missing)."""
    def package(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    status, ovs = _output(["ovs-vsctl", "--version"])
    try:
        from mininet.net import VERSION as mininet_version
    except ImportError:
        mininet_version = None
    return {
        "ovs": ovs.splitlines()[0].split()[-1] if status == 0 else None,
        "mininet": mininet_version,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "os_ken": package("os-ken"),
        "ovs_python": package("ovs"),
        "pandas": package("pandas"),
        "ovs_harness": package("ovs-harness"),
    }


def doctor_report():
    """Return rows (what, finding, status, how to fix) describing this machine for
    ovs-harness; status is "ok", "warn" (not available, and not needed: runs go on without
    it) or "fail" (runs cannot work until it is fixed)."""
    found = versions()
    rows = []
    for name, key in (("Open vSwitch", "ovs"), ("Mininet", "mininet"), ("kernel", "kernel"),
                      ("Python", "python"), ("os-ken", "os_ken"), ("ovs (Python)", "ovs_python")):
        if found[key]:
            rows.append((name, found[key], "ok", ""))
        elif key == "os_ken":
            rows.append((name, "not installed", "warn", f"only --flows ryu needs it: {SETUP_HINT}"))
        else:
            rows.append((name, "not installed", "fail", SETUP_HINT))
    for what, problem in (("running as root", root_problem()),
                          ("Open vSwitch running", ovs_problem()),
                          ("Mininet importable", mininet_problem())):
        rows.append((what, "no" if problem else "yes", "fail" if problem else "ok", problem or ""))
    if root_problem() is not None or ovs_problem() is not None:
        rows += [(f"{DATAPATH_LABELS[kind]} datapath", "not probed", "fail",
                  "probing needs root and Open vSwitch running") for kind in ("kernel", "user")]
        return rows
    docker = Docker().problem()
    rows.append(("Docker (container hosts)", "answers" if docker is None else docker, "ok" if docker is None else "warn",
                 "" if docker is None else "only experiments with container hosts need it; a run starts an "
                 "installed dockerd that is not running"))
    user_problem = probe_datapath("user")
    kernel_problem = kernel_datapath_problem() or probe_datapath("kernel")
    if kernel_problem:
        rows.append((f"{DATAPATH_LABELS['kernel']} datapath", f"unavailable: {kernel_problem}",
                     "warn" if user_problem is None else "fail",
                     "runs use the userspace datapath instead; for the kernel one, use a machine "
                     "or VM whose kernel has openvswitch.ko (see the README's Vagrant section)"))
    else:
        rows.append((f"{DATAPATH_LABELS['kernel']} datapath", "works", "ok", ""))
    rows.append((f"{DATAPATH_LABELS['user']} datapath",
                 "works" if user_problem is None else f"does not work: {user_problem}",
                 "ok" if user_problem is None else "fail",
                 "" if user_problem is None else "see /var/log/openvswitch/ovs-vswitchd.log"))
    rows.append(("auto picks", str(choose_datapath("auto")), "ok", ""))
    return rows
