"""What an experiment will do, without running it: the steps, actions and checks shown by
`python -m harness describe NAME`, and the dry pass every run makes before it builds
anything (so a misspelt check or a host the topology lacks is found with nothing built).

`Plan` stands in for the Lab: the experiment's own `run` is called on it, and each action and
check is written down instead of done, so the plan is always the experiment's real code. It
has the Lab's interface, argument for argument (tests/test_plan.py compares the two), and
refuses what the Lab would refuse: hosts and switches the topology does not have.
"""
import shlex
from contextlib import contextmanager

from .checks import CheckBook, require_new_name
from .environment import mininet_problem
from .errors import HarnessError
from .lab import require_argument_list
from .traffic import require_ping_arguments, require_probe_arguments, require_tcp_arguments
from .topology import Wiring


DEFAULT_DATAPATH = "user"     # what `describe` plans for: the datapath a machine without the module has


class _PlannedFlows:
    def __init__(self, plan):
        self._plan = plan

    def add(self, switch, flow):
        self._plan.network.require_bridge(switch)
        self._plan._note("flow", f"ovs-ofctl add-flow {switch} {flow}")


class Plan:
    """Records an experiment's steps: `steps` is [(step name, [(kind, text), ...])], where a
    step named None holds what the experiment does before its first step.

    `network` answers what is linked to what (a Wiring of the experiment's topology), as
    the running network would."""

    build_seconds = None    # known once a network is built
    planning = True         # see Lab.planning

    def __init__(self, topology, datapath=DEFAULT_DATAPATH, placement=None):
        """placement: {node: server}, where a run on several servers put them."""
        self.steps = []
        self._datapath = datapath
        try:
            self.network = Wiring(topology.build(), placement)
        except ImportError:
            raise HarnessError(mininet_problem()) from None
        self.flows = _PlannedFlows(self)
        self.configuration = [{"step": None, **row} for row in self.network.configuration()]
        self._captured = []
        self._check_names = []      # those of the current step
        self.check = CheckBook(self.network, self._add_check, lambda: list(self._captured))

    @property
    def datapath(self):
        return self._datapath

    def _add_check(self, check):
        require_new_name(check.name, self._check_names, self.steps[-1][0] if self.steps else None)
        self._check_names.append(check.name)
        self._note("check", f"{check.name} ({check.description})")

    def _note(self, kind, text):
        if not self.steps:
            self.steps.append((None, []))
        self.steps[-1][1].append((kind, text))

    @contextmanager
    def step(self, name):
        self.steps.append((name, []))
        self._check_names = []
        yield

    def ping(self, src, dst, count=2, timeout=1, interval=1.0):
        require_ping_arguments(count, interval)
        self.network.require_host(src)
        self.network.require_host(dst)
        spacing = "" if interval == 1 else f" -i {interval:g}"
        self._note("ping", f"{src} ping -c {count}{spacing} {dst}")

    def trace_ping(self, switch, src, dst):
        self.network.require_switch(switch)
        self.network.port_of(src, switch)
        self.network.require_host(dst)
        self._note("trace", f"ovs-appctl ofproto/trace {switch}: {src} > {dst} echo request and its reply")

    def static_arp(self):
        self._note("arp", "every host gets a permanent ARP entry for every other host")

    def tcp_syn(self, src, address, port):
        require_tcp_arguments(address, port)
        self.network.require_host(src)
        self._note("tcp", f"{src} sends one TCP SYN to {address}:{port}")
        return ""

    def reachability(self, timeout_ms=1000, resolve="arp", tries=3):
        require_probe_arguments(timeout_ms, resolve, tries)
        self._note("probe", f"every host pings every other host (fping, one per source host, "
                            f"{timeout_ms} ms for a reply, up to {tries} tries"
                            + (", every ARP entry filled first)" if resolve == "static" else ")"))

    def announce_hosts(self, timeout=10.0):
        self._note("send", f"every host sends one broadcast frame, all at once (learned within {timeout:g} s)")

    def measure(self, name, value, unit=""):
        self._note("measure", name)
        return value

    def announce(self, host, learned_by=None, timeout=5.0):
        self.network.require_host(host)
        for switch in learned_by or ():
            self.network.require_switch(switch)
        self._note("send", f"{host} sends one broadcast frame (learned within {timeout:g} s)")

    def wait_until_forgotten(self, switch, host, timeout):
        self.network.require_switch(switch)
        self.network.require_host(host)
        self._note("wait", f"until {switch} forgets {host} (at most {timeout:g} s)")
        return None

    def run(self, node, argv, check=True, timeout=30):
        require_argument_list(argv)
        if node not in self.network.hosts():
            self.network.require_switch(node)
        self._note("run", f"{node}: {shlex.join(map(str, argv))}")
        return ""

    def run_in_container(self, host, argv, check=True, timeout=30):
        require_argument_list(argv)
        self.network.require_container_host(host)
        self._note("run", f"in {host}'s container: {shlex.join(map(str, argv))}")
        return ""

    def configure_port(self, switch, port, **settings):
        self.network.configure_port(switch, port, settings)
        words = " ".join(f"{name}={value}" for name, value in settings.items())
        self._note("port", f"ovs-vsctl set Port {self.network.port_name(switch, port)} {words}")

    def configure_bridge(self, switch, other_config):
        self.network.configure_bridge(switch, other_config)
        words = " ".join(f"other_config:{key}={value}" for key, value in other_config.items())
        self._note("bridge", f"ovs-vsctl set Bridge {switch} {words}")

    def move(self, host, switch, port):
        old_switch, old_port = self.network.move(host, switch, port)
        self._note("move", f"{host} moves from {old_switch} port {old_port} to {switch} port {port}")

    def add_bridge(self, node, bridge, fail_mode="secure"):
        name = self.network.add_node_bridge(node, bridge, fail_mode)
        self._note("bridge", f"{name} (fail_mode={fail_mode})")
        return name

    def add_port(self, bridge, port, *, tag=None, type=None, options=None, ofport=None):
        self.network.add_port(bridge, port, tag, type, options, ofport)
        details = [f"port {ofport}" if ofport else "", f"tag={tag}" if tag is not None else "",
                   f"type={type}" if type else "", *(f"options:{key}={value}" for key, value in (options or {}).items())]
        self._note("port", f"{bridge} {port} {' '.join(word for word in details if word)}".rstrip())
        return ofport

    def patch(self, bridge1, port1, bridge2, port2, *, ofport1=None, ofport2=None):
        self.network.patch(bridge1, port1, bridge2, port2, ofport1, ofport2)
        self._note("patch", f"{bridge1} {port1} <-> {bridge2} {port2}")
        return ofport1, ofport2

    def linux_bridge(self, node, name, ports):
        self.network.linux_bridge(node, name, ports)
        self._note("linux bridge", f"{node}: {name} with {', '.join(ports)}")

    def veth(self, node, name1, name2):
        self.network.veth(node, name1, name2)
        self._note("veth", f"{node}: {name1}-{name2}")

    def address(self, node, interface, address):
        self.network.address(node, interface, address)
        self._note("address", f"{node}: {interface} {address}")

    def iptables(self, node, rule, table="filter"):
        self.network.firewall(node, rule, table)
        self._note("iptables", f"{node}: iptables -t {table} {shlex.join(map(str, rule))}")

    def trace(self, bridge, flow, packet):
        self.network.require_bridge(bridge)
        self._note("trace", f"ovs-appctl ofproto/trace {bridge} {flow}")

    def capture(self, node, port=None, via=None):
        point = self.network.capture_point(node, port, via)
        if point.name in self._captured:
            raise HarnessError(f"{point.name} is captured already")
        self._captured.append(point.name)
        self._note("capture", point.method)
        return point.name


def plan_of(experiment, datapath=DEFAULT_DATAPATH, placement=None):
    """Return the Plan of `experiment` (an Experiment with its parameters set), on `datapath`
    ("user" or "kernel": the run's, or the one a machine without the kernel module has), and
    for a run on several servers, with its nodes where `placement` puts them."""
    plan = Plan(experiment.topology, datapath, placement)
    experiment.run(plan)
    return plan
