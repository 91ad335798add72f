"""Container hosts (harness.containers): what is refused before anything is built, and for
real: Docker containers wired into OVS count what Mininet's hosts count, the nova_docker
experiment, the neutron journey with containers as VMs while Docker's firewall settings are
in force, and `clean` after a SIGKILL removing our containers and no one else's."""
import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import NOTHING, TEST_EXPERIMENTS, harness, ours_on_machine, start_run_until_ready
from harness import SingleSwitch, Topology, load_run
from harness import run as run_experiment
from harness.api import LabSession
from harness.containers import DRIVER_LABEL, RUN_LABEL, Container, Docker, run_argv
from harness.environment import doctor_report
from harness.errors import HarnessError
from harness.plan import Plan
from harness.topology import Link


@pytest.mark.parametrize("changes, message", [
    ({"command": "httpd -f"}, "never a shell string"),
    ({"capabilities": ("ALL",)}, "unknown capability 'ALL'"),
    ({"image": ""}, "a Docker image name"),
    ({"image": "--privileged"}, "a Docker image name"),
])
def test_a_container_declaration_refuses_what_would_not_run_as_declared(changes, message):
    with pytest.raises(HarnessError, match=message):
        Container(**changes)


def test_a_topology_refuses_a_container_that_is_not_a_plain_host():
    links = [Link("vm", "compute", intf2="tap1"), ("compute", "ext")]
    with pytest.raises(HarnessError, match="compute is an OVS node"):
        Topology(switches=[], ovs_nodes=["compute"], links=links, containers={"compute": Container()})
    with pytest.raises(HarnessError, match="containers names 'vm2'"):
        Topology(switches=[], ovs_nodes=["compute"], links=links, containers={"vm2": Container()})
    with pytest.raises(HarnessError, match="must be a harness.containers.Container"):
        SingleSwitch(hosts=2, containers="ovs-harness/instance")


def test_a_container_starts_without_network_or_privileges_and_carries_its_run():
    argv = run_argv("ovsh-r1-h1", "h1", "r1", Container(command=("sleep", "60")), "ovs-harness/instance:abc")
    words = " ".join(argv)
    assert "--network none" in words and "--cap-drop ALL --cap-add NET_BIND_SERVICE" in words
    assert f"--label {RUN_LABEL}=r1" in words and "--privileged" not in words
    assert argv[-3:] == ["ovs-harness/instance:abc", "sleep", "60"]


def test_describe_says_which_hosts_are_containers_and_commands_inside_them_are_theirs_only():
    described = harness("describe", "normal_mode", "-p", "hosts_as=container")
    assert described.returncode == 0, described.stderr
    assert "hosts as container of ovs-harness/instance" in described.stdout
    plan = Plan(SingleSwitch(hosts=2))
    with plan.step("inside"), pytest.raises(HarnessError, match="h1 is not a container host"):
        plan.run_in_container("h1", ["hostname"])


def test_a_machine_without_docker_gets_one_line_saying_how_to_install_it():
    def not_installed(argv, timeout=10):
        return 127, "", f"{argv[0]}: not installed"
    with pytest.raises(HarnessError, match=r"^this experiment has container hosts: Docker is not installed: "
                                           r"install Docker \(apt-get install docker.io\)"):
        Docker(run=not_installed).require(progress=print)


class FakeServerDocker:
    """Another server's Docker, as the harness reaches it (`there`: through ssh, recorded),
    from recorded answers: {the docker command's words after `docker`, joined: (status, out, err)}."""

    def __init__(self, answers):
        self.answers = answers
        self.sent = []      # (argv run there, what it read on its standard input)

    def there(self, argv, stdin=False):
        return ["ssh", "vm2", *argv] + (["<stdin>"] if stdin else [])

    def probe(self, argv, timeout=10):
        assert argv[:2] == ["ssh", "vm2"], argv
        self.sent.append((argv[2:], None))
        return next((answer for words, answer in self.answers.items() if " ".join(argv[3:]).startswith(words)),
                    (0, "", ""))

    def run(self, argv, input=None, **_options):
        self.sent.append((argv[2:-1], input))
        return subprocess.CompletedProcess(argv, 0, b"", b"")


def test_another_servers_docker_is_asked_there_and_named_in_what_is_said(monkeypatch):
    server = FakeServerDocker({"version": (127, "", "sh: 1: docker: not found")})
    with pytest.raises(HarnessError, match=r"^this experiment has container hosts: Docker is not installed on vm2: "):
        Docker(server.there, "vm2", server.probe).require(progress=print)
    server = FakeServerDocker({"version": (1, "", "Cannot connect to the Docker daemon\n")})
    monkeypatch.setattr("harness.containers.DOCKERD_START_TIMEOUT", 0.1)
    with pytest.raises(HarnessError, match=r"^dockerd on vm2 did not answer within 0.1 s: see "
                                           r"/var/log/ovs-harness-dockerd.log on vm2$"):
        Docker(server.there, "vm2", server.probe).require(progress=print)
    assert server.sent[1][0][:2] == ["sh", "-c"] and "setsid dockerd" in server.sent[1][0][2]



def test_a_running_docker_daemon_slow_to_answer_is_waited_for_never_started_again():
    """On a busy server `docker version` can time out while dockerd runs (CI's two-server
    test, under emulation): a second dockerd would only fail on the first one's pid file, and
    the run would record the daemon as its own."""
    answers = iter([(124, "", "docker: no answer in 10 s"), (3, "", ""), (124, "", "docker: no answer in 10 s"),
                    (0, "27.5.1\n", "")])
    sent = []

    def busy_server(argv, timeout=10):
        sent.append(argv)
        return next(answers)
    said = []
    assert Docker(run=busy_server).require(progress=said.append) == "running"
    assert "pgrep -x dockerd" in sent[1][2] and sent[1][2].index("pgrep") < sent[1][2].index("setsid dockerd")
    assert said == ["the Docker daemon runs but is slow to answer: waiting up to 120 s"]
    assert len(sent) == 4

def test_the_instance_image_is_built_on_another_server_from_this_machines_busybox(monkeypatch):
    """`docker import -` there, reading the image's tree from this machine (through ssh's
    standard input): the same image, and tag, on every server."""
    server = FakeServerDocker({"image inspect ovs-harness/instance": (1, "", "No such image")})
    monkeypatch.setattr("harness.containers.subprocess.run", server.run)
    from harness.containers import instance_image_tag
    tag = Docker(server.there, "vm2", server.probe).ensure_instance_image(progress=print)
    assert tag == instance_image_tag()
    imported = next((argv, tree) for argv, tree in server.sent if argv[:2] == ["docker", "import"])
    assert imported[0][-2:] == ["-", tag]
    with tarfile.open(fileobj=io.BytesIO(imported[1])) as tar:
        assert {"bin/busybox", "bin/httpd", "www/index.html"} <= set(tar.getnames())


def test_another_servers_containers_are_removed_only_with_the_runs_label():
    server = FakeServerDocker({"ps --all": (0, "ovsh-r1-h1 r1\novsh-r1-h2 r2\n", "")})
    docker = Docker(server.there, "vm2", server.probe)
    assert docker.remove_containers(["ovsh-r1-h1", "ovsh-r1-h2", "ovsh-r1-h3"], "r1") == ["container ovsh-r1-h1 on vm2"]
    assert server.sent[-1][0] == ["docker", "rm", "--force", "ovsh-r1-h1"]
    docker.labelled_containers(driver="machine-a")
    assert f"label={DRIVER_LABEL}=machine-a" in server.sent[-1][0]


def test_the_containers_of_runs_no_longer_alive_go_in_one_removal_there():
    """(clean's sweep: of this machine's runs on that server, by the driver label.)"""
    server = FakeServerDocker({"ps --all": (0, "ovsh-r1-h1 r1\novsh-r2-h1 r2\novsh-r3-h1 r3\n", "")})
    removed = Docker(server.there, "vm2", server.probe).remove_dead_runs({"r2"}, driver="machine-a")
    assert removed == ["container ovsh-r1-h1 on vm2", "container ovsh-r3-h1 on vm2"]
    assert [argv for argv, _ in server.sent][-2:] == [
        ["docker", "ps", "--all", "--filter", f"label={RUN_LABEL}", "--filter", f"label={DRIVER_LABEL}=machine-a",
         "--format", f'{{{{.Names}}}} {{{{.Label "{RUN_LABEL}"}}}}'],
        ["docker", "rm", "--force", "ovsh-r1-h1", "ovsh-r3-h1"]]


# -- for real --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dockerd_was_running():
    """Whether the Docker daemon answered before the first container run of these tests
    (if not, that run must start it)."""
    return Docker().problem() is None


def counters(run):
    """Per-step packet counts of a run (as tests/test_normal_mode.py compares runs)."""
    return (run.flows[["step", "match", "actions", "n_packets", "n_bytes"]].values.tolist(),
            run.ports[["step", "port", "rx_packets", "tx_packets", "rx_bytes", "tx_bytes"]].values.tolist())


@pytest.mark.network
def test_container_hosts_count_exactly_what_mininet_hosts_count(tmp_path, dockerd_was_running):
    containers = run_experiment("normal_mode", results_dir=tmp_path, datapath="user", hosts_as="container")
    namespaces = run_experiment("normal_mode", results_dir=tmp_path, datapath="user")
    assert containers.metadata["outcome"] == "passed", containers.metadata["error"]
    assert counters(containers) == counters(namespaces)
    docker = containers.metadata["docker"]
    assert docker["daemon"] == ("running" if dockerd_was_running else "started by this run")
    image_ids = {host["image_id"] for host in docker["containers"].values()}
    inspected = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}",
                                docker["containers"]["h1"]["image_run"]], capture_output=True, text=True)
    assert image_ids == {inspected.stdout.strip()}
    assert (containers.path / "nodes/h1/container.log").exists()
    assert ours_on_machine() == NOTHING
    doctor = {what: status for what, _found, status, _fix in doctor_report()}
    assert doctor["Docker (container hosts)"] == "ok"


@pytest.mark.network
def test_a_container_host_is_configured_and_observed_as_a_host_is(tmp_path):
    session = LabSession(SingleSwitch(hosts=2, containers=Container()), datapath="user", results_dir=tmp_path)
    lab = session.open()
    try:
        with lab.step("every lab action works on container hosts"):
            lab.capture("h2")
            lab.flows.add("s1", "action=normal")
            lab.reachability()
            lab.check.all_reachable(why="the fping probe runs in each container's namespace")
            lab.check.frames_seen("h2", 1, src="h1", kind="echo request", why="h1's one probe, captured inside h2's container")
            lab.check.mac_learned("s1", "h1", port=1, why="h1's container sent from s1's port 1")
        inside = lab.run_in_container("h1", ["cat", "/proc/net/dev"])
        settings = lab.run("h1", ["sysctl", "-n", "net/ipv6/conf/h1-eth0/disable_ipv6",
                                  "net/ipv4/neigh/h1-eth0/base_reachable_time_ms"]).split()
        offload = lab.run("h1", ["ethtool", "--show-offload", "h1-eth0"])
    finally:
        session.close()
    assert "h1-eth0:" in inside, "the host's link end is not in the container"
    assert settings == ["1", "3600000"]
    assert "tx-checksumming: off" in offload
    assert ours_on_machine() == NOTHING


@pytest.mark.network
def test_an_image_this_machine_lacks_is_refused_before_anything_is_built(tmp_path, results_dir):
    experiment = tmp_path / "own_image.py"
    experiment.write_text(
        "from harness import Container, Experiment, SingleSwitch\n\n\n"
        "class OwnImage(Experiment):\n"
        "    \"\"\"Hosts of an image nobody built.\"\"\"\n"
        "    topology = SingleSwitch(hosts=2, containers=Container(image='ovsh-test/absent:1'))\n\n"
        "    def run(self, lab):\n"
        "        with lab.step('ping'):\n"
        "            lab.ping('h1', 'h2')\n")
    process = harness("run", experiment, "--results-dir", results_dir)
    assert process.returncode == 2
    assert process.stderr.strip() == ("error: Docker image 'ovsh-test/absent:1' is not on this machine: "
                                      "`docker pull ovsh-test/absent:1` or `docker load` it first")
    assert not results_dir.exists() and ours_on_machine() == NOTHING


@pytest.mark.network
def test_nova_docker_passes_every_check(results_dir):
    process = harness("run", "nova_docker", "--datapath", "user", "--results-dir", results_dir, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(Path(process.stdout.splitlines()[-1]))
    assert run.checks["passed"].all() and len(run.checks) == 19
    assert ours_on_machine() == NOTHING


@pytest.fixture
def dockers_firewall():
    """The root namespace as a dockerd that turned on IP forwarding leaves it: the FORWARD
    policy DROP, and bridged frames sent through iptables; put back afterwards."""
    policy = subprocess.run(["iptables", "-w", "-S", "FORWARD"], capture_output=True, text=True,
                            check=True).stdout.splitlines()[0].split()[-1]
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    before = bridge_nf.read_text()
    subprocess.run(["iptables", "-w", "-P", "FORWARD", "DROP"], check=True)
    bridge_nf.write_text("1")
    try:
        yield
    finally:
        subprocess.run(["iptables", "-w", "-P", "FORWARD", policy], check=True)
        bridge_nf.write_text(before)


def root_firewall():
    return subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout


@pytest.mark.network
def test_the_journey_with_containers_as_vms_passes_under_dockers_firewall(results_dir, dockers_firewall):
    """The journey's Linux bridges (qbr) and security groups are in the compute node's own
    namespace, so Docker's FORWARD policy in the root namespace never sees its frames: the
    run needs no rule there, and adds none."""
    before = root_firewall()
    process = harness("run", "neutron_journey", "-p", "vms_as=container", "--datapath", "user",
                      "--results-dir", results_dir, timeout=300)
    assert process.returncode == 0, process.stdout + process.stderr
    run = load_run(Path(process.stdout.splitlines()[-1]))
    assert set(run.metadata["docker"]["containers"]) == {"vma", "vmb"}
    assert run.metadata["root_forwarding"] == {"forward_policy": "DROP", "bridge_nf_call_iptables": 1}
    assert run.checks["passed"].all()
    assert [line for line in root_firewall().splitlines() if not line.startswith(("#", ":"))] == \
        [line for line in before.splitlines() if not line.startswith(("#", ":"))]
    assert ours_on_machine() == NOTHING


@pytest.fixture
def foreign_containers():
    """Two containers that are not ours: one named like ours, one with another label."""
    Docker().require(progress=print)
    image = Docker().ensure_instance_image(progress=print)
    names = ["ovsh-20000101-000000-beef-h1", "foreign-web"]
    for name, label in zip(names, ["someone.else=1", f"{RUN_LABEL}-not=1"]):
        subprocess.run(["docker", "run", "--detach", "--network", "none", "--name", name, "--label", label,
                        image], check=True, capture_output=True)
    try:
        yield names
    finally:
        subprocess.run(["docker", "rm", "--force", *names], capture_output=True)


def running_containers():
    return subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True,
                          check=True).stdout.split()


@pytest.mark.network
def test_clean_removes_the_containers_of_a_killed_run_and_no_one_elses(tmp_path, results_dir, foreign_containers):
    process = start_run_until_ready(tmp_path, TEST_EXPERIMENTS / "blocking.py", "-p", "hosts_as=container",
                                    "--datapath", "user", "--results-dir", results_dir)
    process.kill()
    process.communicate(timeout=30)
    left = ours_on_machine()["containers"]
    assert len(left) == 2 and all(name.endswith(("-h1", "-h2")) for name in left)
    cleaned = harness("clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert all(f"removed container {name}" in cleaned.stdout for name in left)
    assert ours_on_machine() == NOTHING
    assert set(foreign_containers) <= set(running_containers())
