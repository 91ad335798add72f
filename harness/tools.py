"""Running the real tools (ovs-ofctl, ovs-appctl, ovs-vsctl, ping) and keeping a transcript.

Every command goes through `CommandRunner.run` as an argument list, never a shell string, and is
recorded with its output, so a run's transcript reads like the blog's terminal session.
Every tool runs with LC_ALL=C, so its output is in the form the parsers read whatever the
user's locale (Mininet's own ping parser broke under others).
"""
import json
import os
import shlex
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import List, Optional

from .errors import HarnessError


def tool_environment():
    """The environment every tool runs in: the harness's own, in the C locale."""
    return {**os.environ, "LC_ALL": "C"}


class _Watch:
    """The commands `probe` has under way in at_once's threads (and in the at_once calls those
    make), stopped together when the wait for them ends early: a check begun may wait minutes
    for a starved server (cluster.CHECK_TIMEOUT_S), a Ctrl-C may not."""

    def __init__(self):
        self.processes = set()
        self.stopped = False

    def stop(self):
        self.stopped = True
        for process in list(self.processes):
            process.kill()


_thread = threading.local()     # .watch: the _Watch of the at_once whose call this thread runs


def probe(argv, timeout=10):
    """Run argv outside any run (no transcript), to find out about the machine; return
    (exit status, stdout, stderr): 127 if it is not installed, 124 if it did not answer."""
    try:
        # Its own session, as every tool the harness runs: a Ctrl-C reaches the harness,
        # which stops the command, and never makes a killed probe look like a broken machine.
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=tool_environment(), start_new_session=True)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: not installed"
    watch = getattr(_thread, "watch", None) or _Watch()
    watch.processes.add(process)
    if watch.stopped:       # stopped while this one was starting
        process.kill()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return 124, "", f"{argv[0]}: no answer in {timeout} s"
    except BaseException:   # an interrupt, here in the main thread: the command goes with it
        process.kill()
        _reap(process)
        raise
    finally:
        watch.processes.discard(process)
    return process.returncode, stdout, stderr


def at_once(calls, workers):
    """Return what each of `calls` (functions without arguments: probes, mostly) returns, in
    order, called at once by up to `workers` threads. When the wait for them ends early (an
    interrupt, or a call that raised: either ends them all), the calls not begun are dropped
    and the commands of those begun (`probe`'s) are stopped; a lone call is made here, where
    an interrupt stops its command at once."""
    if len(calls) == 1:
        return [calls[0]()]
    # An at_once inside a call of another shares its watch: the interrupt reaches the outer one.
    watch = getattr(_thread, "watch", None) or _Watch()

    def watched(call):
        _thread.watch = watch
        try:
            return call()
        finally:
            del _thread.watch

    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        return [future.result() for future in [pool.submit(watched, call) for call in calls]]
    except BaseException:
        watch.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Entry:
    """One command sent to a switch or host, with what it printed."""
    step: str
    where: str          # "sh" for the root namespace, "controller", or a Mininet host's name (see where_ran)
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


class OnServer(list):
    """The argv that runs `command` on another server of a run (harness.cluster.Server.argv:
    ssh, over the run's connection to it). It is run as it is, and also says on which server
    and what, for the transcript and errors: `where` and `shown`, the command there ("sh@vm2"
    for the server's root namespace, or a host's "h2@vm2", and the argv without what put it in
    the host's namespace); `batch` is the argv that runs harness.server_batch there, which runs
    several commands in one session."""

    def __init__(self, argv, server, command, batch, where=None, shown=None):
        super().__init__(argv)
        self.server = server
        self.command = [str(arg) for arg in command]
        self.batch = batch
        self.where = where or f"sh@{server}"
        self.shown = [str(arg) for arg in shown] if shown is not None else self.command


def _named(argv, host=None):
    """How an error names the command argv run in `host` (None: the root namespace):
    `ovs-ofctl dump-flows s2` (on vm2, or on h2@vm2 for a host of another server)."""
    if isinstance(argv, OnServer):
        return f"`{shlex.join(argv.shown)}` on {argv.server if argv.where == f'sh@{argv.server}' else argv.where}"
    shown = f"`{shlex.join(map(str, argv))}`"
    return f"{shown} on {where_ran(host)}" if getattr(host, "isRemote", False) else shown


def _require_success(argv, stdout, stderr, returncode, host=None):
    """Raise HarnessError naming the command (run in `host`) and its last line of complaint
    if it failed."""
    if returncode != 0:
        reason = (stderr or stdout).strip().splitlines()
        raise HarnessError(f"{_named(argv, host)} failed: "
                           f"{reason[-1] if reason else 'exit status %d' % returncode}")


def where_ran(host):
    """Where a command ran, for the transcript: "sh" for this machine's root namespace, a
    host's name, and for a host on another server (a run on several), "host@server"."""
    if host is None:
        return "sh"
    server = getattr(host, "server", "localhost")
    return host.name if server == "localhost" else f"{host.name}@{server}"


def _reap(process):
    """Wait for `process`, killed, to end. Not by process.wait(): a signal raised while
    communicate() was inside wait() can leave subprocess's lock of the process held (the
    `with` statement of CPython issue bpo-29988), and wait() would then block for good (a
    run interrupted in a snapshot hung so, its dumps ended but never reaped)."""
    if process.returncode is None:
        try:
            os.waitpid(process.pid, 0)
        except ChildProcessError:       # reaped already, by the interrupted wait
            pass


def _file_of(text):
    """An unnamed file holding `text`, read from its start: a command's standard input. (Not
    a pipe written while waiting for the command: a started command has all its input at
    once, and a session of several commands on a server, which reads them there from its
    input, starts them at once, not when the harness comes to wait for it.)"""
    file = tempfile.TemporaryFile("w+")
    file.write(text)
    file.seek(0)
    return file


@dataclass
class _Started:
    """A command CommandRunner started, or several started as one session on a server."""
    process: subprocess.Popen
    commands: List[tuple]       # (where, argv) of each, as the transcript records them
    named: str                  # how an error names it
    batch: bool = False         # harness.server_batch, which answers for each command


class CommandRunner:
    """Runs commands in the root namespace or on Mininet hosts and records them."""

    def __init__(self, transcript: Optional[Transcript] = None):
        self.transcript = transcript if transcript is not None else Transcript()

    def run(self, argv, host=None, check=True, timeout=30, text=None):
        """Run argv (a list, never a shell string) and return its stdout.

        host: a Mininet host to run it in (through Mininet's own `popen`), or None for the
        root namespace. text: what the command reads on its standard input. Raises
        HarnessError naming the command when it fails and `check` is set; every command is
        recorded in the transcript either way."""
        (stdout, stderr, returncode), = self._finish(self._start(argv, host, text), timeout)
        if check:
            _require_success(argv, stdout, stderr, returncode, host)
        return stdout

    def run_each(self, commands, timeout=30, again_if=None):
        """Run several commands at once, each (argv, host) as for `run`; return the stdout
        of each, in order. Raises HarnessError naming the first that failed, as `run` does.
        again_if(stderr): whether a command that failed so is run once more, alone."""
        return self.finish_each(commands, self.start_all(commands), timeout, again_if)

    def finish_each(self, commands, started, timeout=30, again_if=None):
        """Wait for `commands` begun by start_all(commands); return the stdout of each, in
        order, raising HarnessError naming the first that failed, as run_each does."""
        finished = self._results(started, timeout)
        for index, (stdout, stderr, returncode) in enumerate(finished):
            if returncode and again_if and again_if(stderr):
                [finished[index]] = self._results(self.start_all([commands[index]]), timeout)
        for (argv, host), (stdout, stderr, returncode) in zip(commands, finished):
            _require_success(argv, stdout, stderr, returncode, host)
        return [stdout for stdout, _stderr, _code in finished]

    def run_all(self, commands, timeout=30, inputs=None):
        """Run several commands at once, each (argv, host) as for `run`; return the output
        (stdout and stderr) of each, in order, whatever their exit status. inputs: the text
        each command reads on its standard input, in order (it works where the host is, on
        this machine or a server of a cluster, as a file of this machine would not)."""
        return self.finish_all(self.start_all(commands, inputs), timeout)

    def start_all(self, commands, inputs=None):
        """Start several commands, each (argv, host) as for `run` (and its standard input
        from `inputs`, as for run_all), without waiting for them; pass the result to
        finish_all. The commands for one other server (its root namespace or its hosts') go
        there in one ssh session (harness.server_batch), not one each."""
        inputs = inputs or [None] * len(commands)
        # A command in a host of another server is one there, in the host's namespace.
        commands = [(host.in_namespace(argv), None) if getattr(host, "isRemote", False) else (argv, host)
                    for argv, host in commands]
        batches, started = {}, []
        for index, ((argv, host), text) in enumerate(zip(commands, inputs)):
            if host is None and isinstance(argv, OnServer):
                batches.setdefault(tuple(argv.batch), []).append(index)
            else:
                started.append(([index], self._start(argv, host, text)))
        # A server's only command goes as it is, unless it reads something: ssh gives it no
        # standard input (Server.argv), while a session reads its commands' from its own.
        for indices in batches.values():
            started.append((indices, self._start(commands[indices[0]][0], None, None)
                            if len(indices) == 1 and inputs[indices[0]] is None else
                            self._start_batch([commands[index][0] for index in indices],
                                              [inputs[index] for index in indices])))
        # The transcript in the commands' order, each session where its first command is.
        return sorted(started, key=lambda each: each[0][0])

    def finish_all(self, started, timeout=30):
        """Wait for commands begun by start_all; return the output (stdout and stderr) of
        each, in order, whatever their exit status."""
        return [stdout + stderr for stdout, stderr, _code in self._results(started, timeout)]

    def _results(self, started, timeout):
        """Wait for what start_all started; return (stdout, stderr, exit status) of each of
        its commands, in their order."""
        results = {}
        for indices, each in started:
            results.update(zip(indices, self._finish(each, timeout)))
        return [results[index] for index in sorted(results)]

    def _start(self, argv, host, text=None):
        if host is None and isinstance(argv, OnServer):
            shown = (argv.where, argv.shown)
        else:
            shown = (where_ran(host), [str(arg) for arg in argv])
        named = _named(argv, host)
        argv = [str(arg) for arg in argv]
        stdin = {"stdin": _file_of(text)} if text is not None else {}
        try:
            # A root-namespace command leads its own session, as host commands do (Mininet's
            # popen detaches them): a Ctrl-C meant for the harness reaches the harness only,
            # which stops what it started itself.
            process = host.popen(argv, text=True, env=tool_environment(), **stdin) if host is not None else \
                subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=tool_environment(), start_new_session=True, **stdin)
        except FileNotFoundError:
            raise HarnessError(f"{argv[0]} is not installed: run `sudo ./setup.sh`") from None
        finally:
            if stdin:
                stdin["stdin"].close()      # (the command has its own)
        return _Started(process, [shown], named)

    def _start_batch(self, commands, inputs):
        """Start `commands` (OnServer argvs, all for one server) in one session there."""
        started = self._start(commands[0].batch, None, json.dumps(
            [[argv.command, text] for argv, text in zip(commands, inputs)]))
        started.commands = [(argv.where, argv.shown) for argv in commands]
        started.named = f"{' and '.join(_named(argv) for argv in commands)}, in one session,"
        started.batch = True
        return started

    def _finish(self, started, timeout):
        """Wait for a started command; record it, or each command of a batch; return
        [(stdout, stderr, exit status)] of each."""
        process = started.process
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            self._record(started, [("", f"[no answer in {timeout} s: killed]\n", process.returncode)])
            raise HarnessError(f"{started.named} did not answer in {timeout} s") from None
        except BaseException:       # interrupted: the command must not outlive the run
            process.kill()
            _reap(process)
            self._record(started, [("", "[interrupted: killed]\n", process.returncode)])
            raise
        results = _batch_results(stdout, stderr, process.returncode, len(started.commands)) if started.batch \
            else [(stdout, stderr, process.returncode)]
        self._record(started, results)
        return results

    def _record(self, started, results):
        """Record each command of `started` with its result (one result: the same for all)."""
        for index, (where, argv) in enumerate(started.commands):
            stdout, stderr, returncode = results[min(index, len(results) - 1)]
            self.transcript.record(where, argv, stdout + stderr, returncode)


def _batch_results(stdout, stderr, returncode, count):
    """[(stdout, stderr, exit status)] of each of `count` commands run by harness.server_batch,
    from what it printed; if it did not answer for them (ssh failed: the server went away),
    each gets its complaint and exit status."""
    try:
        results = json.loads(stdout) if returncode == 0 else None
    except ValueError:
        results = None
    if not isinstance(results, list) or len(results) != count:
        said = stderr if stderr.strip() else f"no answer for its {count} commands (exit status {returncode})\n"
        return [("", said, returncode or 1)] * count
    return [tuple(result) for result in results]
