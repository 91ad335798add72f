"""Errors the harness reports to the user as one line."""


class HarnessError(Exception):
    """A problem the user can fix: the CLI prints it as one line and exits 2."""


class Interrupted(BaseException):
    """The run was stopped by a signal (SIGINT or SIGTERM). Not an Exception, as
    KeyboardInterrupt is not: code that reports what went wrong in an experiment's own code
    (`except Exception`) must let it through, or a Ctrl-C landing there became an error."""
