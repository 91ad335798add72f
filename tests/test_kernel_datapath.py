"""The kernel datapath, for real: the seed experiments run in a VM booted from Debian's own
kernel (which has openvswitch.ko, unlike this machine's), provisioned by setup.sh as the
Vagrant VM is. The VM boots once for the module; the runs' folders come back through the
exchange folder and are asserted here.

The image is built once (two to five minutes, from the start of the test session, while the
tests that need no VM run; cached by kernel_vm.image); the boot and the runs under software
emulation take a few minutes.
"""
import re
import subprocess

import pytest

from conftest import EDGE_EXPERIMENTS, harness, register_vms
from harness.figures import differences, hops
from harness.analysis import counter_spread
from harness.results import load_run
from kernel_vm.guest import GuestError, run_in_guest

pytestmark = [pytest.mark.network, pytest.mark.vm_image]     # real Mininet and OVS in a VM, as root

GUEST_PYTHON = ".venv/bin/python"


def in_guest(*args):
    """argv of `python -m harness ARGS` in the guest's project folder."""
    return [GUEST_PYTHON, "-m", "harness", *args]


def run_in(results, experiment, *options):
    """argv of a harness run in the guest writing under /mnt/exchange/<results>."""
    return in_guest("run", experiment, *options, "--results-dir", f"/mnt/exchange/{results}")


GUEST_COMMANDS = {
    "doctor": ["env", "COLUMNS=200", *in_guest("doctor")],
    # Run twice on the kernel datapath: normal_mode, here and with the controller's flows below
    # (test_repeat repeats the seed experiments five times on the userspace datapath; a
    # repeat here costs CI about 45 s under emulation).
    "normal_mode kernel": run_in("kernel", "normal_mode", "--datapath", "kernel"),
    "normal_priority kernel": run_in("kernel", "normal_priority", "--datapath", "kernel"),
    # One interpreter for the rest (start-up under emulation costs about 10 s a command),
    # through the Python API, which the VM so exercises too: normal_mode with the flows from
    # the controller app, normal_mode on the userspace datapath, and the edge experiments.
    "api runs": [GUEST_PYTHON, "-c", "import sys, harness\n"
                 "harness.run('normal_mode', datapath='kernel', flows='ryu', results_dir='/mnt/exchange/kernel-ryu')\n"
                 "harness.run('normal_mode', datapath='user', results_dir='/mnt/exchange/user')\n"
                 "for name in sys.argv[1:]:\n"
                 "    harness.run(name, datapath='kernel', results_dir='/mnt/exchange/kernel')\n",
                 *EDGE_EXPERIMENTS, "neutron_journey"],
    # A bridge of someone else's on the userspace datapath: a kernel-datapath run beside it
    # is refused before it builds anything (OVS could not wait for its revalidators).
    "foreign bridge": ["ovs-vsctl", "add-br", "notours0", "--", "set", "Bridge", "notours0", "datapath_type=netdev"],
    "run beside it": run_in("refused", "normal_mode", "--datapath", "kernel"),
    "foreign bridge removed": ["ovs-vsctl", "del-br", "notours0"],
    "bridges left": ["ovs-vsctl", "list-br"],
    "veths left": ["ip", "-brief", "link", "show", "type", "veth"],
}


def boot(image, folder, idle, timeout, extended):
    """Boot the VM once and run every guest command (none is for extended tests only);
    return (GuestRun, {name: CommandResult})."""
    run = run_in_guest(image, list(GUEST_COMMANDS.values()), folder / "exchange", timeout, idle)
    return run, dict(zip(GUEST_COMMANDS, run.results))


# This VM boots from the start, beside the other tests and the two-server test's VMs, on the
# CPU time the other tests leave. (It used to boot once the other tests were done, so that the
# two-server test's work, then the longest, had that time to itself; booted then, beside the
# Vagrant VM, it ended last, 12 minutes after the other tests, with the machine's two cores
# busy. The other tests leave about 0.4 of a core idle beside the two-server test's VMs.)
register_vms(__name__, boot)


@pytest.fixture(scope="module")
def guest(booted_vms):
    return booted_vms[__name__].result()


def finished(guest, name):
    """Return the named guest command's result, failing with its output and the console's
    end unless it exited 0."""
    run, results = guest
    result = results[name]
    assert result.status == 0, f"{result}\n--- guest console (end) ---\n{run.console[-3000:]}"
    return result


def runs_of(guest, datapath, experiment):
    """Return the runs the guest made of experiment on datapath, oldest first."""
    run, _results = guest
    return [load_run(folder.parent) for folder in
            sorted((run.exchange / datapath / experiment).glob("*/metadata.json"))]


def require_passed(*runs):
    """Fail, with each failing run's error and folder, unless every run passed."""
    failing = [f"{run.path.name}: {run.metadata['outcome']}: {run.metadata.get('error')}"
               for run in runs if run.metadata["outcome"] != "passed"]
    assert not failing, "\n".join(failing)


def test_doctor_in_the_vm_finds_the_kernel_datapath(guest):
    output = " ".join(finished(guest, "doctor").output.split())
    assert "ok │ kernel (system) datapath │ works" in output
    assert "ok │ userspace (netdev) datapath │ works" in output
    assert "auto picks │ datapath: kernel (system), because the openvswitch kernel module is loaded" in output


@pytest.mark.parametrize("experiment", ["normal_mode", "normal_priority"])
def test_seed_experiments_pass_on_the_kernel_datapath(guest, experiment):
    finished(guest, f"{experiment} kernel")
    [run] = runs_of(guest, "kernel", experiment)
    assert run.metadata["datapath"]["type"] == "kernel"
    assert run.metadata["outcome"] == "passed"
    assert run.checks["passed"].all() and len(run.checks) >= 10


def test_kernel_datapath_counts_the_blogs_packets(guest):
    run = runs_of(guest, "kernel", "normal_mode")[0]
    after_ping = run.flows[run.flows["step"] == "h1 ping h2"]
    assert after_ping[["actions", "n_packets", "n_bytes"]].values.tolist() == [["NORMAL", 8, 560]]


def test_two_kernel_runs_count_identically(guest):
    """normal_mode twice on the kernel datapath, its flows from ovs-ofctl and from the
    controller app: the same frames, so every flow and port counter is equal at every step."""
    finished(guest, "normal_mode kernel")
    finished(guest, "api runs")
    runs = runs_of(guest, "kernel", "normal_mode") + runs_of(guest, "kernel-ryu", "normal_mode")
    assert len(runs) == 2
    require_passed(*runs)
    spread = counter_spread(runs)
    varying = spread[spread["variance"] > 0]
    assert varying.empty, varying.to_string()
    assert {"flows n_packets", "ports rx_packets", "ports tx_bytes"} <= set(spread["counter"])
    assert (spread["runs"] == 2).all()


def test_flows_from_the_controller_count_the_same_on_the_kernel_datapath(guest):
    """The os-ken app installs the flows (OpenFlow 1.3 FlowMods) on kernel OVS: same checks,
    same per-step flow counts as ovs-ofctl's flows."""
    finished(guest, "api runs")
    [ryu] = runs_of(guest, "kernel-ryu", "normal_mode")
    ofctl = runs_of(guest, "kernel", "normal_mode")[0]
    assert (ryu.metadata["flows"], ryu.metadata["datapath"]["type"]) == ("ryu", "kernel")
    require_passed(ryu, ofctl)
    assert ryu.checks["passed"].all() and ryu.checks["name"].tolist() == ofctl.checks["name"].tolist()
    columns = ["step", "priority", "match", "actions", "n_packets", "n_bytes"]
    assert ryu.flows[columns].values.tolist() == ofctl.flows[columns].values.tolist()


def test_kernel_and_userspace_datapaths_agree(guest):
    """The same experiment on both datapaths, in the same VM: only the datapath differs; any
    difference in checks or counters is listed in the failure."""
    finished(guest, "api runs")
    kernel, user = runs_of(guest, "kernel", "normal_mode")[0], runs_of(guest, "user", "normal_mode")[0]
    assert user.metadata["datapath"]["type"] == "user"
    differing = differences([kernel, user])
    assert differing["item"].tolist() == ["datapath"], differing.to_string()


@pytest.mark.parametrize("experiment", EDGE_EXPERIMENTS)
def test_normal_edges_behave_alike_on_both_datapaths(guest, edge_runs, experiment):
    """Each NORMAL edge experiment passes on the kernel datapath as on the userspace one, and
    nothing its checks observe or its counters count differs but the datapath (with the
    versions of the two machines), mac_aging's measured lifetime (a time), and one difference
    the comparison report shows: on a trunk the kernel datapath counts each tagged frame's
    bytes without its 4-byte 802.1Q tag (the veth carries the tag as offload metadata), the
    userspace datapath with it."""
    finished(guest, "api runs")
    [kernel], user = runs_of(guest, "kernel", experiment), edge_runs[experiment][1]
    assert (kernel.metadata["outcome"], user.metadata["outcome"]) == ("passed", "passed")
    differing = differences([kernel, user])
    expected = (differing["what"] == "version") | differing["item"].str.contains("lifetime")
    trunk_bytes = differing["what"].isin(["ports rx_bytes", "ports tx_bytes"]) & \
        differing["item"].str.endswith(("s1 s1-eth3", "s2 s2-eth3")) & (experiment == "vlan_normal")
    assert differing[~expected & ~trunk_bytes]["item"].tolist() == ["datapath"], differing.to_string()
    packets = user.ports.set_index(["step", "switch", "port_name"])
    for what, item, kernel_bytes, user_bytes in differing[trunk_bytes].itertuples(index=False):
        step, port = item.split(": ")
        direction = what.split()[1].split("_")[0]
        tagged = packets.loc[(step, *port.split()), f"{direction}_packets"]
        assert int(user_bytes) - int(kernel_bytes) == 4 * tagged, (item, what)
    if experiment == "vlan_normal":
        assert trunk_bytes.sum() == 12     # rx and tx of both trunk ends, after each of 3 steps


def test_the_neutron_journey_on_the_kernel_datapath_differs_only_in_how_tunnel_ports_count(guest, journey):
    """neutron_journey passes in the VM on the kernel datapath (an ovs-vswitchd per node
    namespace, the kernel's GRE): hop by hop the two datapaths count the same packets, and
    every check observes the same, but for the tunnel ports' tx_packets, which OVS's
    userspace datapath counts twice a frame and the kernel's once (each run expects its
    own; the comparison report lists them). Counters that include the wiring steps' own
    frames (before ARP has settled) differ between the two machines and are not compared."""
    finished(guest, "api runs")
    [kernel], user = runs_of(guest, "kernel", "neutron_journey"), journey[1]
    assert (kernel.metadata["outcome"], user.metadata["outcome"]) == ("passed", "passed")
    assert hops(kernel).equals(hops(user)) and len(hops(kernel)) == 7
    differing = differences([kernel, user])
    observed = differing[differing["what"] == "check observed"].set_index("item").iloc[:, 1:]
    tunnel_tx = [f"the journey: vma pings the internet: {bridge} tx moved by {count}"
                 for count in (3, 6) for bridge in ("compute/br-tun gre-ac10000c", "network/br-tun gre-ac10000b")]
    assert sorted(observed.index) == sorted(tunnel_tx), observed.to_string()
    assert (observed.loc[tunnel_tx[:2]].iloc[:, 0] == "3").all() and (observed.loc[tunnel_tx[2:]].iloc[:, 1] == "6").all()


def test_comparison_report_of_the_two_datapaths(guest, results_dir):
    kernel, user = runs_of(guest, "kernel", "normal_mode")[0], runs_of(guest, "user", "normal_mode")[0]
    process = harness("report", "--compare", kernel.path, user.path, "--results-dir", results_dir)
    assert process.returncode == 0, process.stdout + process.stderr
    [html] = (results_dir / "comparisons").glob("*/compare.html")
    # Cells as plain <th>/<td>: the report's tables carry styling attributes.
    page = re.sub(r"<(t[dh])\b[^>]*>", r"<\1>", " ".join(html.read_text().split()))
    # The "What differs" table: one row, the datapath.
    assert f"<th>{kernel.metadata['experiment']} {kernel.metadata['run_id']} (kernel)</th>" in page
    assert "<td>run</td> <td>datapath</td> <td>kernel</td> <td>user</td>" in page
    assert page.count("<td>run</td>") == 1 and "Traceback" not in page


def test_a_run_beside_bridges_on_the_other_datapath_is_refused(guest):
    """Bridges on two datapaths give ovs-vswitchd two revalidator sets, and it then refuses
    `revalidator/wait` ("can't wait on multiple udpifs"), which every snapshot needs."""
    finished(guest, "foreign bridge")
    refused = guest[1]["run beside it"]
    assert refused.status == 2 and "Traceback" not in refused.output, refused
    [error] = [line for line in refused.output.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: ovs-vswitchd has bridges on the userspace (netdev) datapath (notours0): "
                            "beside them, a run's on the kernel (system) one could not wait"), refused
    assert "run with --datapath user" in error
    [kept] = runs_of(guest, "refused", "normal_mode")       # the run's record: no step was run
    assert kept.metadata["outcome"] == "error" and kept.metadata["error"] in error and kept.flows.empty
    finished(guest, "foreign bridge removed")


def test_runs_in_the_vm_leave_nothing(guest):
    assert finished(guest, "bridges left").output.strip() == ""
    assert finished(guest, "veths left").output.strip() == ""


def test_a_hung_guest_is_killed_and_reported_with_its_console(vm_image, tmp_path):
    """A guest that never finishes is killed at the timeout wherever it is: after 8 s it is
    still booting (the kernel printed its version in the first second) or already in the
    command, which would sleep for an hour."""
    with pytest.raises(GuestError) as failure:
        run_in_guest(vm_image, [["sleep", "3600"]], tmp_path, timeout=8)
    message = str(failure.value)
    assert "test VM 1 did not finish within 8 s and was killed" in message
    assert "lines of the guest console" in message and "Linux version" in (tmp_path / "console.log").read_text()
    qemus = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert qemus == ""
