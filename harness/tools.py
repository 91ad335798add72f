"""Running the real tools (ovs-ofctl, ovs-appctl, ovs-vsctl, ping) and keeping a transcript.

Every command goes through `CommandRunner.run` as an argument list, never a shell string, and is
recorded with its output, so a run's transcript reads like the blog's terminal session.
Every tool runs with LC_ALL=C, so its output is in the form the parsers read whatever the
user's locale (Mininet's own ping parser broke under others).
"""
import os
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import List, Optional

from .errors import HarnessError


def tool_environment():
    """The environment every tool runs in: the harness's own, in the C locale."""
    return {**os.environ, "LC_ALL": "C"}


@dataclass
class Entry:
    """One command sent to a switch or host, with what it printed."""
    step: str
    where: str          # "sh" for the root namespace, "controller", or a Mininet host's name
    argv: List[str]
    output: str
    returncode: int

    def render(self):
        """Return the entry as it would look in a Mininet CLI session (a request to the
        controller app shows as `controller> ...`)."""
        prompt = {"sh": f"mininet> sh {shlex.join(self.argv)}",
                  "controller": f"controller> {shlex.join(self.argv)}"}.get(
            self.where, f"mininet> {self.where} {shlex.join(self.argv)}")
        status = "" if self.returncode == 0 else f"[exit status {self.returncode}]\n"
        return f"{prompt}\n{self.output}{status}"


@dataclass
class Transcript:
    """Every command of a run, in order, grouped by step."""
    entries: List[Entry] = field(default_factory=list)
    step: str = "build"

    def record(self, where, argv, output, returncode):
        self.entries.append(Entry(self.step, where, list(argv), output, returncode))

    def render(self):
        """Return the whole transcript as text, one section per step."""
        lines, current = [], None
        for entry in self.entries:
            if entry.step != current:
                current = entry.step
                lines.append(f"\n### step: {current}\n")
            lines.append(entry.render())
        return "\n".join(lines).lstrip("\n")


class CommandRunner:
    """Runs commands in the root namespace or on Mininet hosts and records them."""

    def __init__(self, transcript: Optional[Transcript] = None):
        self.transcript = transcript if transcript is not None else Transcript()

    def run(self, argv, host=None, check=True, timeout=30):
        """Run argv (a list, never a shell string) and return its stdout.

        host: a Mininet host to run it in (through Mininet's own `popen`), or None for the
        root namespace. Raises HarnessError naming the command when it fails and `check`
        is set; every command is recorded in the transcript either way."""
        stdout, stderr, returncode = self._finish(*self._start(argv, host), timeout)
        if check and returncode != 0:
            reason = (stderr or stdout).strip().splitlines()
            raise HarnessError(f"`{shlex.join(map(str, argv))}` failed: "
                               f"{reason[-1] if reason else 'exit status %d' % returncode}")
        return stdout

    def run_all(self, commands, timeout=30):
        """Run several commands at once, each (argv, host) as for `run`; return the output
        (stdout and stderr) of each, in order, whatever their exit status."""
        return self.finish_all(self.start_all(commands), timeout)

    def start_all(self, commands):
        """Start several commands, each (argv, host) as for `run`, without waiting for them;
        pass the result to finish_all."""
        return [self._start(argv, host) for argv, host in commands]

    def finish_all(self, started, timeout=30):
        """Wait for commands begun by start_all; return the output (stdout and stderr) of
        each, in order, whatever their exit status."""
        return [stdout + stderr for stdout, stderr, _code in
                (self._finish(*each, timeout) for each in started)]

    def _start(self, argv, host):
        argv = [str(arg) for arg in argv]
        try:
            # A root-namespace command leads its own session, as host commands do (Mininet's
            # popen detaches them): a Ctrl-C meant for the harness reaches the harness only,
            # which stops what it started itself.
            process = host.popen(argv, text=True, env=tool_environment()) if host is not None else \
                subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=tool_environment(), start_new_session=True)
        except FileNotFoundError:
            raise HarnessError(f"{argv[0]} is not installed: run `sudo ./setup.sh`") from None
        return process, argv, host.name if host is not None else "sh"

    def _finish(self, process, argv, where, timeout):
        """Wait for a started command; record it; return (stdout, stderr, exit status)."""
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            self.transcript.record(where, argv, f"[no answer in {timeout} s: killed]\n", process.returncode)
            raise HarnessError(f"`{shlex.join(argv)}` did not answer in {timeout} s") from None
        except BaseException:       # interrupted: the command must not outlive the run
            process.kill()
            process.wait()
            self.transcript.record(where, argv, "[interrupted: killed]\n", process.returncode)
            raise
        self.transcript.record(where, argv, stdout + stderr, process.returncode)
        return stdout, stderr, process.returncode
