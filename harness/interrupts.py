"""SIGINT, SIGTERM and SIGHUP while a run is in progress.

While the experiment's steps run, the first of them stops the steps (it is raised as
`Interrupted` where the run is, so the teardown in `finally` runs). From then on, and while
the run tears down and writes its last files, every signal is only remembered: a second
Ctrl-C, or one that lands in the teardown, can never leave a bridge or a half-written run
behind, and the run's outcome says it was interrupted.
"""
import signal
from contextlib import contextmanager

from .errors import Interrupted

CAUGHT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_installed = []     # the Interrupts catching the signals now, if any


@contextmanager
def uninterrupted():
    """Inside, a signal is not raised where it lands but when the block ends (if it ended
    normally): for starting a process and recording it in the run's state, which must never
    be parted (a process started but not recorded would outlive the run). Blocking the
    signals at the kernel instead would block them in the process started too."""
    catching = _installed[-1] if _installed else None
    if catching is None or not catching.raising:
        yield
        return
    catching.raising, before = False, len(catching.received)
    try:
        yield
    except BaseException:
        catching.raising = len(catching.received) == before
        raise
    if len(catching.received) > before:
        raise Interrupted(catching.received[-1])
    catching.raising = True


class Interrupts:
    """Installed as a context manager around a run (and whatever prints its result)."""

    def __init__(self):
        self.received = []      # signal names, in the order they came
        self.raising = False    # raise the next one as Interrupted (only while steps run)
        self._previous = {}

    def install(self):
        """Catch the signals from now on (for good: the CLI installs them once, so that a
        signal after a run's result is printed cannot change the exit status)."""
        self._previous = {sig: signal.signal(sig, self._handle) for sig in CAUGHT}
        _installed.append(self)
        return self

    def ignore_from_now(self):
        """Ignore the signals until the process exits: the command's result is out, and its
        exit status must be the one that goes with it. (Python puts back the default
        handlers while it shuts down, which would make a late Ctrl-C the exit status; it
        leaves ignored signals ignored.)"""
        for sig in CAUGHT:
            signal.signal(sig, signal.SIG_IGN)

    def __enter__(self):
        return self.install()

    def __exit__(self, *_exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        _installed.remove(self)

    def _handle(self, signum, _frame):
        self.received.append(signal.Signals(signum).name)
        if self.raising:
            self.raising = False    # one Interrupted per run: later signals are held
            raise Interrupted(self.received[-1])

    @property
    def first(self):
        """The first signal received, or None."""
        return self.received[0] if self.received else None

    @contextmanager
    def deferred(self):
        """Hold the signals at the kernel too (the commands started inside inherit the
        mask, so a Ctrl-C sent to the whole process group cannot kill `ovs-vsctl del-br`
        half way); a signal that came in meanwhile is remembered when this ends."""
        self.raising = False
        signal.pthread_sigmask(signal.SIG_BLOCK, CAUGHT)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, CAUGHT)

    @contextmanager
    def python_default_sigint(self):
        """Give Ctrl-C back to Python's default (KeyboardInterrupt) inside, e.g. so that
        Mininet's CLI can stop a command with it as it does in `mn`."""
        ours = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, ours)
