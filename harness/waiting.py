"""Waiting on a condition instead of sleeping for a guessed time."""
import time

from .errors import HarnessError

POLL_INTERVAL = 0.05


def poll_until(condition, timeout):
    """Call `condition` until it returns true or `timeout` seconds pass; return its last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(POLL_INTERVAL)


def wait_until(condition, timeout, what):
    """Like poll_until, but raise HarnessError saying what was awaited on a timeout.

    Returns the seconds it took."""
    start = time.monotonic()
    if not poll_until(condition, timeout):
        raise HarnessError(f"timed out after {timeout:g} s waiting for {what}")
    return time.monotonic() - start
