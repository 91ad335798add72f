"""Several commands run at once on another server of a run, in one ssh session: a snapshot
there (every bridge's dumps), a revalidator wait of each of its ovs-vswitchds. Each command
of its own would start an ssh client and take a session of the server's sshd (over a hundred
a run for neutron_journey's network node); this is one of each.

The harness sends this file to the server as a program (`python3 -c TEXT`), so every server
runs the same logic, whatever is installed there (harness.tools.CommandRunner); its tests
run it here. It reads a JSON list of [argv, standard input or null] on its standard input,
starts every command at once in the C locale, and prints a JSON list of [stdout, stderr,
exit status], in order: 127 for a command that is not installed.
"""
import json
import os
import subprocess
import sys


def start(argv, text):
    """Start argv, reading `text` (None: nothing); return the process, or the OSError that
    kept it from starting."""
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL if text is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "LC_ALL": "C"})
    except OSError as error:
        return error


def run(commands):
    """Run every [argv, text] of `commands` at once; return [stdout, stderr, status] of each."""
    started = [(start(argv, text), text) for argv, text in commands]
    results = []
    for process, text in started:
        if isinstance(process, OSError):
            results.append(["", f"{process.filename}: {process.strerror}\n", 127])
            continue
        stdout, stderr = process.communicate(text)
        results.append([stdout, stderr, process.returncode])
    return results


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
