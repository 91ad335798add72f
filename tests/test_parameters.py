"""Parameters: declared once, parsed and checked before any network exists."""
import re

import pytest

from harness import Experiment, Parameter, SingleSwitch
from harness.errors import HarnessError
from harness.experiment import find_experiment


class Example(Experiment):
    """An experiment with one parameter of each kind."""
    name = "example"
    hosts = Parameter(int, 3, "hosts", minimum=2, maximum=254)
    fast = Parameter(bool, False, "go fast")
    target = Parameter(str, "h3", "a host", pattern=r"h\d+")
    mode = Parameter(str, "a", "a mode", choices=("a", "b"))

    @property
    def topology(self):
        return SingleSwitch(hosts=self.hosts)


def test_defaults_and_overrides():
    assert Example().parameter_values() == {"hosts": 3, "fast": False, "target": "h3", "mode": "a"}
    example = Example.from_command_line(["hosts=5", "fast=yes", "target=h5", "mode=b"])
    assert example.parameter_values() == {"hosts": 5, "fast": True, "target": "h5", "mode": "b"}
    assert str(example.topology) == "single switch, 5 hosts"
    assert Example.hosts.default == 3      # declared once, on the class


@pytest.mark.parametrize("assignment, message", [
    ("hosts=3; rm -rf /", "parameter hosts must be a whole number, not '3; rm -rf /'"),
    ("hosts=$(reboot)", "parameter hosts must be a whole number"),
    ("hosts=1", "parameter hosts must be from 2 to 254, not 1"),
    ("hosts=255", "parameter hosts must be from 2 to 254, not 255"),
    ("hosts=2.5", "must be a whole number"),
    ("fast=maybe", "parameter fast must be true or false, not 'maybe'"),
    ("target=h3;id", r"parameter target must be a value matching h\d+, not 'h3;id'"),
    ("target=../../etc", "parameter target must be a value matching"),
    ("target=h3 h4", "parameter target must be a value matching"),
    ("mode=c", "parameter mode must be one of a, b, not 'c'"),
    ("colour=red", "example has no parameter 'colour' (parameters: hosts, fast, target, mode)"),
    ("hosts", "-p takes name=value, not 'hosts'"),
    ("=5", "-p takes name=value"),
])
def test_wrong_values_are_one_clear_error(assignment, message):
    with pytest.raises(HarnessError) as error:
        Example.from_command_line([assignment])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_parameter_given_twice_is_refused():
    with pytest.raises(HarnessError, match="parameter hosts is given twice"):
        Example.from_command_line(["hosts=4", "hosts=5"])


def test_values_from_python_are_checked_by_type_too():
    with pytest.raises(HarnessError, match="parameter hosts must be int, not '5'"):
        Example(hosts="5")
    with pytest.raises(HarnessError, match="must be int, not True"):
        Example(hosts=True)


def test_default_string_pattern_refuses_shell_syntax():
    free_text = Parameter(str, "x", "any name")
    free_text.name = "label"
    assert free_text.parse("s1-eth1:0.5") == "s1-eth1:0.5"
    for hostile in ("a;b", "a b", "$(id)", "`id`", "a|b", "a>b", "a&b", ""):
        with pytest.raises(HarnessError):
            free_text.parse(hostile)


def test_seed_experiments_keep_the_blog_values_as_defaults():
    blog = {"shape": "single", "hosts": 3, "count": 2, "static_arp": False}
    assert find_experiment("normal_mode")().parameter_values().items() >= blog.items()
    blog.pop("shape")       # normal_priority's shape is fixed: the blog's one switch
    assert find_experiment("normal_priority")().parameter_values().items() >= \
        {**blog, "target": "h3", "priority": 60000}.items()


@pytest.mark.parametrize("assignments, message", [
    (["target=h1"], "parameter target must be one of h3..h3"),
    (["hosts=5", "target=h6"], "parameter target must be one of h3..h5"),
    (["priority=32768"], "parameter priority must be from 32769 to 65535"),
    (["shape=linear"], "normal_priority has no parameter 'shape'"),
    (["switches=4"], "normal_priority has no parameter 'switches'"),
])
def test_normal_priority_checks_its_parameters_against_each_other(assignments, message):
    with pytest.raises(HarnessError, match=message):
        find_experiment("normal_priority").from_command_line(assignments)


@pytest.mark.parametrize("experiment, assignments, message", [
    ("normal_mode", ["shape=linear", "hosts=10"],
     "parameter hosts is for shape=single, and this run's shape is linear (its parameters: switches)"),
    ("normal_mode", ["switches=4"], "parameter switches is for shape=linear, and this run's shape is single"),
    ("mac_learning_scale", ["shape=tree", "hosts_per_switch=3"], "parameter hosts_per_switch is for shape=linear"),
])
def test_a_parameter_the_chosen_shape_does_not_use_is_an_error(experiment, assignments, message):
    with pytest.raises(HarnessError, match=re.escape(message)):
        find_experiment(experiment).from_command_line(assignments)


def test_a_parameter_of_the_chosen_shape_is_taken():
    experiment = find_experiment("normal_mode").from_command_line(["shape=linear", "switches=4"])
    assert str(experiment.topology) == "linear, 4 switches, 1 host(s) each"
