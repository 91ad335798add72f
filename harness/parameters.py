"""Experiment parameters: declared once on the experiment class with a type, a default, a
description and the values allowed, overridden with `run NAME -p name=value`.

Values are parsed and checked before any network is built; a wrong name, type or range is a
HarnessError of one line. A string parameter must match its pattern (by default a name made
of letters, digits, `_`, `.`, `:` and `-`), so no value ever carries shell syntax.
"""
import re

from .errors import HarnessError

_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")
_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True,
             "false": False, "no": False, "off": False, "0": False}
NAME_PATTERN = r"[A-Za-z0-9_.:-]+"


class Parameter:
    """One parameter of an experiment, declared as a class attribute:

        hosts = Parameter(int, 3, "hosts on the switch", minimum=3, maximum=254)

    Inside the experiment, `self.hosts` is the value of this run."""

    def __init__(self, type, default, description, *, minimum=None, maximum=None,
                 choices=None, pattern=NAME_PATTERN, shapes=None):
        """shapes: for an experiment whose topology's shape is its `shape` parameter, the
        shapes this parameter belongs to (setting it for another shape is an error)."""
        if type not in (int, bool, str):
            raise TypeError("a Parameter is an int, a bool or a str")
        self.shapes = (shapes,) if isinstance(shapes, str) else shapes
        self.type = type
        self.description = description
        self.minimum, self.maximum = minimum, maximum
        self.choices = tuple(choices) if choices else None
        self.pattern = pattern
        self.name = None
        self.default = default

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, experiment, owner=None):
        if experiment is None:
            return self
        return experiment.__dict__.get(self.name, self.default)

    def allowed(self):
        """Describe the values allowed, e.g. "from 3 to 254", "one of a, b", "true or false"."""
        if self.type is bool:
            return "true or false"
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        if self.type is int:
            if self.minimum is not None and self.maximum is not None:
                return f"from {self.minimum} to {self.maximum}"
            if self.minimum is not None or self.maximum is not None:
                return f"at least {self.minimum}" if self.maximum is None else f"at most {self.maximum}"
            return "any whole number"
        return f"a value matching {self.pattern}"

    def parse(self, text):
        """Return the value `text` (from the command line) stands for, checked."""
        if self.type is int:
            if not _WHOLE_NUMBER.match(text):
                raise HarnessError(f"parameter {self.name} must be a whole number, not {text!r}")
            return self.check(int(text))
        if self.type is bool:
            if text.lower() not in _BOOLEANS:
                raise HarnessError(f"parameter {self.name} must be true or false, not {text!r}")
            return self.check(_BOOLEANS[text.lower()])
        return self.check(text)

    def check(self, value):
        """Return value if it is of the right type and allowed; else raise HarnessError."""
        if type(value) is not self.type:
            raise HarnessError(f"parameter {self.name} must be {self.type.__name__}, not {value!r}")
        outside = (self.minimum is not None and value < self.minimum) or \
                  (self.maximum is not None and value > self.maximum) or \
                  (self.choices is not None and value not in self.choices) or \
                  (self.type is str and not re.fullmatch(self.pattern, value))
        if outside:
            raise HarnessError(f"parameter {self.name} must be {self.allowed()}, not {value!r}")
        return value


def parse_assignments(assignments):
    """Split ["hosts=5", "target=h5"] into {"hosts": "5", "target": "h5"}."""
    values = {}
    for assignment in assignments:
        name, equals, text = assignment.partition("=")
        if not equals or not name:
            raise HarnessError(f"-p takes name=value, not {assignment!r}")
        if name in values:
            raise HarnessError(f"parameter {name} is given twice")
        values[name] = text
    return values
