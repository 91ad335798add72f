"""`describe` and the dry pass before every run call the experiment's own `run` on a Plan:
it must offer what the Lab offers, argument for argument, and refuse what the Lab refuses."""
import inspect

import pytest

from harness import SingleSwitch
from harness.errors import HarnessError
from harness.lab import Lab
from harness.plan import Plan


def public_interface(cls):
    """{name: signature, or "attribute"} of what an experiment may use of `cls`."""
    members = {name: inspect.signature(member) if callable(member) else "attribute"
               for name, member in inspect.getmembers(cls) if not name.startswith("_")}
    instance_attributes = ("network", "flows", "check", "steps")   # set in __init__
    return {**members, **{name: "attribute" for name in instance_attributes}}


def test_plan_offers_what_the_lab_offers_argument_for_argument():
    assert public_interface(Plan) == public_interface(Lab)


def test_plan_refuses_what_the_lab_refuses():
    plan = Plan(SingleSwitch(hosts=3))
    with plan.step("pings"):
        plan.ping("h1", "h3", count=1, interval=0.2)
        with pytest.raises(HarnessError, match="no host 'h5'"):
            plan.ping("h1", "h5")
        with pytest.raises(HarnessError, match="no bridge 's2'"):
            plan.flows.add("s2", "action=normal")
        with pytest.raises(HarnessError, match="ping count must be a whole number"):
            plan.ping("h1", "h2", count=0)
        with pytest.raises(HarnessError, match="no host 'h4'"):
            plan.trace_ping("s1", "h1", "h4")
    assert plan.steps == [("pings", [("ping", "h1 ping -c 1 -i 0.2 h3")])]


def test_the_declared_network_answers_as_mininet_builds_it():
    """Ports and MACs of a declared topology, which normal_priority and learning_switch use."""
    network = Plan(SingleSwitch(hosts=4)).network
    assert [network.port_of(host, "s1") for host in network.hosts()] == [1, 2, 3, 4]
    assert network.mac("h3") == "00:00:00:00:00:03" and network.ip("h4") == "10.0.0.4"
