"""Experiments: the base class, finding one by name in `experiments/` or by file path, and
saying where in an experiment's own file its code went wrong."""
import builtins
import difflib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
import traceback
from pathlib import Path

from .errors import HarnessError
from .parameters import Parameter, parse_assignments

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class Experiment:
    """An experiment: a Mininet topology, its parameters, and the steps run on it.

    Subclasses declare parameters as class attributes (harness.Parameter), set `topology`
    (e.g. harness.SingleSwitch(hosts=3), or a property that uses the parameters), and write
    `run(self, lab)` as the sequence of `with lab.step(...)` blocks the blog post walks
    through. The docstring's first line is the experiment's one-line summary."""

    name = None         # set when the experiment is found: its module's name
    topology = None
    controller_app = None   # an app module from controllers/ the experiment always runs with
    # Warnings ovs-vswitchd may log during a run of this experiment (regular expressions);
    # any other WARN or worse in its log fails the run (see harness.evidence).
    expected_switch_warnings = ()

    def __init__(self, **values):
        """Set parameters from `values` (name -> value); raise HarnessError if one is wrong."""
        declared = self.parameters()
        for name, value in values.items():
            if name not in declared:
                known = ", ".join(declared) or "none"
                raise HarnessError(f"{self.name} has no parameter {name!r} (parameters: {known})")
            self.__dict__[name] = declared[name].check(value)
        self._require_shape_fits(values)
        self.validate()

    def _require_shape_fits(self, values):
        """Raise HarnessError for a parameter given for a shape the run does not have
        (`-p shape=linear -p hosts=10`: a chain has no `hosts`), as Mininet ties a
        topology's arguments to it (`--topo linear,4`)."""
        shape = getattr(self, "shape", None)
        for name in values:
            shapes = self.parameters()[name].shapes
            if shapes and shape not in shapes:
                fitting = [other for other, parameter in self.parameters().items()
                           if parameter.shapes and shape in parameter.shapes]
                raise HarnessError(f"parameter {name} is for shape={'|'.join(shapes)}, and this run's shape "
                                   f"is {shape} (its parameters: {', '.join(fitting) or 'none'})")

    @classmethod
    def from_command_line(cls, assignments):
        """Return an instance with parameters from ["name=value", ...] (`run -p`)."""
        declared = cls.parameters()
        values = parse_assignments(assignments)
        unknown = [name for name in values if name not in declared]
        if unknown:
            raise HarnessError(f"{cls.name} has no parameter {unknown[0]!r} "
                               f"(parameters: {', '.join(declared) or 'none'})")
        return cls(**{name: declared[name].parse(text) for name, text in values.items()})

    @classmethod
    def parameters(cls):
        """Return the declared parameters, {name: Parameter}, in declaration order. A
        subclass that sets an inherited parameter's name to a plain value (normal_priority's
        `shape = "single"`) fixes it: it is no longer a parameter."""
        found = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, Parameter):
                    found[name] = value
                elif name in found:
                    del found[name]
        return found

    def parameter_values(self):
        """Return this run's parameter values, {name: value}."""
        return {name: getattr(self, name) for name in self.parameters()}

    def validate(self):
        """Check parameters against each other; raise HarnessError if they do not fit."""

    def run(self, lab):
        raise NotImplementedError

    @classmethod
    def summary(cls):
        """Return the first line of the experiment's own docstring ("" if it has none)."""
        doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
        return doc.splitlines()[0] if doc else ""


def experiment_names():
    """Return the names of the experiments shipped in `experiments/`, sorted."""
    import experiments
    return sorted(module.name for module in pkgutil.iter_modules(experiments.__path__)
                  if not module.name.startswith("_"))


def _experiment_in(module, origin):
    """Return the one Experiment subclass defined in `module`, or raise HarnessError."""
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, Experiment) and obj is not Experiment
             and obj.__module__ == module.__name__]
    if len(found) != 1:
        raise HarnessError(f"{origin} does not define an experiment: it needs exactly one subclass "
                           f"of harness.Experiment (found {len(found)})")
    experiment = found[0]
    experiment.name = module.__name__.rpartition(".")[2]
    return experiment


def _load_file(path):
    """Import the Python file at `path` as a module."""
    name = path.stem if _NAME.match(path.stem) else "user_experiment"
    spec = importlib.util.spec_from_file_location(f"harness_user.{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def find_experiment(name_or_path):
    """Return the Experiment subclass named `name_or_path` (in experiments/) or defined in
    that .py file. Raises HarnessError for an unknown name or a file without an experiment."""
    path = Path(name_or_path)
    if name_or_path.endswith(".py") or "/" in name_or_path:
        if path.suffix != ".py":
            raise HarnessError(f"{name_or_path} is not an experiment file: give a .py file "
                               "or the name of an experiment (see `python -m harness list`)")
        if not path.is_file():
            raise HarnessError(f"no experiment file {name_or_path}")
        return _experiment_in(_import_located(lambda: _load_file(path.resolve()), path), name_or_path)
    known = experiment_names()
    if name_or_path not in known:
        raise HarnessError(f"unknown experiment {name_or_path!r}; known: {', '.join(known)} "
                           "(or give the path of a .py file)")
    path = Path(__file__).resolve().parent.parent / "experiments" / f"{name_or_path}.py"
    return _experiment_in(_import_located(lambda: importlib.import_module(f"experiments.{name_or_path}"), path),
                          name_or_path)


def _import_located(load, path):
    """Return the module load() imports from experiment file `path`; an error in its code
    is a HarnessError naming the file and line."""
    try:
        return load()
    except SyntaxError as error:
        raise HarnessError(f"{_shown(str(path))} line {error.lineno}: syntax error: {error.msg}") from None
    except Exception as error:
        raise HarnessError(_located(error, {str(path.resolve())})) from None


def _hint(error):
    """Python's own "Did you mean" for a misspelt attribute or name (3.11's traceback module
    does not compute it; the interpreter's top level does)."""
    name = getattr(error, "name", None)
    if isinstance(error, AttributeError) and name and hasattr(error, "obj"):
        candidates = dir(error.obj)
    elif isinstance(error, NameError) and name and error.__traceback__ is not None:
        frame = _innermost_frame(error.__traceback__)
        candidates = [*frame.f_locals, *frame.f_globals, *dir(builtins)]
    else:
        return ""
    close = difflib.get_close_matches(name, [c for c in candidates if not c.startswith("_")], n=1)
    return f". Did you mean: {close[0]!r}?" if close else ""


def _innermost_frame(tb):
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame


def _shown(path):
    """A path as the user would type it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def experiment_code_error(error, experiment):
    """Return one line for `error`, raised while `experiment`'s own code ran: the file and
    line of the experiment's code it came from (its innermost line in the experiment's
    files, those of its class and the experiment classes it derives from), what went wrong,
    and Python's hint. A HarnessError raised by the harness on the experiment's behalf
    ("no host 'h5'") is located the same way. The harness's own experiment classes (Experiment,
    LabSession's) are not the experiment's code: an error in their files is not located."""
    cls = experiment if isinstance(experiment, type) else type(experiment)
    files = {os.path.realpath(inspect.getsourcefile(klass)) for klass in cls.__mro__
             if issubclass(klass, Experiment) and klass.__module__.partition(".")[0] != __package__}
    return _located(error, files)


def _located(error, files):
    """Return `error` as one line, prefixed with its innermost line in one of `files`."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if os.path.realpath(frame.filename) in files]
    what = str(error) if isinstance(error, HarnessError) else f"{type(error).__name__}: {error}{_hint(error)}"
    if not frames:
        return what
    return f"{_shown(frames[-1].filename)} line {frames[-1].lineno}: {what}"


def built_experiment(cls, make):
    """Return make(), an instance of experiment class `cls` with its parameters set; a bug
    in the experiment's own parameter code (its validate, its topology) is one line with
    its file and line, as HarnessError."""
    try:
        experiment = make()
        str(experiment.topology)
    except HarnessError:
        raise
    except Exception as error:
        raise HarnessError(experiment_code_error(error, cls)) from None
    return experiment


def experiment_from_command_line(name_or_path, assignments):
    """Return the experiment `name_or_path` with its parameters set from ["name=value", ...]
    (see built_experiment)."""
    cls = find_experiment(name_or_path)
    return built_experiment(cls, lambda: cls.from_command_line(assignments))


def check_experiment_code(experiment, datapath=None, placement=None):
    """Plan the experiment's steps on its topology, as `describe` does, without building
    anything; raise HarnessError (file, line, what, Python's hint) if its code fails there:
    a misspelt check, a host the topology does not have, an action given wrong arguments.
    datapath: the run's ("user" or "kernel"); None: describe's default. placement: {node:
    server} of a run on several servers (an experiment may ask where its switches run)."""
    from .plan import DEFAULT_DATAPATH, plan_of
    try:
        return plan_of(experiment, datapath or DEFAULT_DATAPATH, placement)
    except Exception as error:
        raise HarnessError(experiment_code_error(error, experiment)) from None
