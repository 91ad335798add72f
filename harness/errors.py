"""Errors the harness reports to the user as one line."""


class HarnessError(Exception):
    """A problem the user can fix: the CLI prints it as one line and exits 2."""


class Interrupted(Exception):
    """The run was stopped by a signal (SIGINT or SIGTERM)."""
