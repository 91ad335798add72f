"""Several commands run at once on another server of a run, in one ssh session: a snapshot
there (every bridge's dumps, its firewall hosts' too), a wave of the all-pairs probe's fpings
in its hosts. Each command of its own would start an ssh client and take a session of the
server's sshd (almost two hundred a run for neutron_journey's network node); this is one of each.

The harness sends this file to the server as a program (`python3 -c TEXT`), so every server
runs the same logic, whatever is installed there (harness.tools.CommandRunner); its tests
run it here. It reads a JSON list of [argv, standard input or null] on its standard input,
starts every command at once in the C locale, and prints a JSON list of [stdout, stderr,
exit status], in order: 127 for a command that would not start.

While they run it writes a space (which JSON ignores) every HEARTBEAT_S. When that write
fails, the session is gone (its ssh client was killed: the run was interrupted, or gave up
waiting), and it kills the commands, which could otherwise run on there, in the run's
hosts, until they end by themselves.
"""
import json
import os
import subprocess
import sys
import threading
import time

HEARTBEAT_S = 0.5


def start(argv, text):
    """Start argv, reading `text` (None: nothing); return the process, or the OSError that
    kept it from starting."""
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL if text is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "LC_ALL": "C"})
    except OSError as error:
        return error


def run(commands, while_running=lambda processes: None):
    """Run every [argv, text] of `commands` at once; return [stdout, stderr, status] of each.
    while_running(processes) is called once they have started."""
    started = [(start(argv, text), text) for argv, text in commands]
    while_running([process for process, _text in started if not isinstance(process, OSError)])
    results = []
    for process, text in started:
        if isinstance(process, OSError):
            results.append(["", f"{process.filename}: {process.strerror}\n", 127])
            continue
        stdout, stderr = process.communicate(text)
        results.append([stdout, stderr, process.returncode])
    return results


def kill_when_unheard(output, lock):
    """Return a while_running for `run` that starts a thread writing a space to `output`
    every HEARTBEAT_S, under `lock`, and kills the processes and this program once it cannot."""
    def heartbeat(processes):
        while True:
            time.sleep(HEARTBEAT_S)
            try:
                with lock:
                    output.write(" ")
                    output.flush()
            except OSError:     # (BrokenPipeError: Python ignores SIGPIPE)
                for process in processes:
                    process.kill()
                os._exit(1)

    return lambda processes: threading.Thread(target=heartbeat, args=(processes,), daemon=True).start()


def main():
    lock = threading.Lock()
    results = run(json.load(sys.stdin), kill_when_unheard(sys.stdout, lock))
    with lock:
        json.dump(results, sys.stdout)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
