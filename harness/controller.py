"""The controller of a run that uses one: an app from controllers/ started as its own process
on free local ports, waited for until the switches are connected, asked for its state over
its control channel, and always stopped. Its log goes into the run folder; an exception or
an OpenFlow error in it fails the run.

The control channel accepts only requests carrying the run's token, a secret handed to the
app in its environment: another local process cannot add flows to a root-run switch."""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys

from .cleanup import process_record
from .errors import HarnessError
from .interrupts import uninterrupted
from .waiting import wait_until

TOKEN_VARIABLE = "OVS_HARNESS_CONTROL_TOKEN"    # read by controllers/harness_control.py

STARTUP_TIMEOUT = 30.0
# Seconds a request may take to be answered: more than an add_flow's wait for its barrier
# reply (the flow installer asks five times, 10 s apart, then answers with the error). In the
# kernel-datapath VM, on idle CPU time beside three other VMs, one was not answered in 10 s,
# the limit before.
REQUEST_TIMEOUT = 60.0
# Milliseconds a switch waits on a silent controller connection before it sends an echo
# request, and as long again for the reply before it disconnects (OVS's default is 5,000).
# A switch on another server reaches the app through the ssh connection that also carries
# every command run there; under emulation, with the other tests beside it, vm2's switch
# gave up after 6 s (a CI run) though the app was alive. A disconnection still fails the run:
# the switch logs it as a warning. Set once the switches are connected (see
# network.Network.arm_controller_probes for why not before).
INACTIVITY_PROBE_MS = 30000


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Controller:
    """One controller app process (e.g. "controllers.flow_installer")."""

    def __init__(self, app, log_path, state):
        """state: the run's RunState, where the app's process is recorded as it starts."""
        self.app = app
        self.log_path = log_path
        self.state = state
        self.openflow_port = _free_port()
        self.control_port = _free_port()
        self.token = secrets.token_hex(16)
        self.process = None

    @property
    def target(self):
        """The OpenFlow target the switches connect to."""
        return f"tcp:127.0.0.1:{self.openflow_port}"

    def start(self):
        """Start the app, record its process (it leads its own process group) in the run
        state at once, so that `clean` finds it whenever the run dies, then wait until its
        control channel answers."""
        with open(self.log_path, "ab") as log, uninterrupted():
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controllers.launch", self.app,
                 "--openflow-port", str(self.openflow_port), "--control-port", str(self.control_port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                env={**os.environ, TOKEN_VARIABLE: self.token})
            self.state.update(controller=process_record(self.process.pid))
        wait_until(self._answers, STARTUP_TIMEOUT, what=f"the controller app {self.app} to start")

    def _answers(self):
        try:
            self.request("ready", grace=0)
            return True
        except HarnessError:
            self.check_alive()
            return False

    def check_alive(self, grace=0):
        """Raise HarnessError, with the end of the app's log, if the app has died, or dies
        within `grace` seconds."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return
        if self.process.returncode is not None:
            raise HarnessError(f"the controller app {self.app} (pid {self.process.pid}) has died "
                               f"(exit status {self.process.returncode}): {self.last_log_line()}; "
                               f"its log is {self.log_path}")

    def request(self, op, grace=1.0, **arguments):
        """Ask the app for something over its control channel; return the result.

        A channel that fails while the app is being killed fails before its exit can be
        seen (the kernel closes its sockets first): `grace` seconds are given to tell a
        dead app from one that does not answer."""
        try:
            with socket.create_connection(("127.0.0.1", self.control_port), timeout=REQUEST_TIMEOUT) as channel:
                channel.sendall((json.dumps({"op": op, "token": self.token, **arguments}) + "\n").encode())
                reply = json.loads(channel.makefile().readline() or "null")
        except (OSError, ValueError) as error:
            self.check_alive(grace)
            raise HarnessError(f"the controller app {self.app} does not answer: {error}") from None
        if not reply or not reply["ok"]:
            raise HarnessError(f"the controller app {self.app} refused {op}: "
                               f"{reply['error'] if reply else 'no reply'}")
        return reply["result"]

    def wait_connected(self, dpids):
        """Wait until every switch (by datapath id) has connected to the app."""
        wait_until(lambda: self.check_alive() or set(dpids) <= set(self.request("ready")),
                   STARTUP_TIMEOUT, what=f"the switches to connect to {self.app}")

    def last_log_line(self):
        lines = self.log_path.read_text(errors="replace").strip().splitlines() if self.log_path.exists() else []
        return lines[-1] if lines else "(empty log)"

    def problems(self):
        """Return the log lines that show the app failed: exceptions and OpenFlow errors."""
        if not self.log_path.exists():
            return []
        return [line for line in self.log_path.read_text(errors="replace").splitlines()
                if line.startswith("Traceback") or " ERROR " in line]

    def stop(self):
        """Stop the app's whole process group (os-ken's threads cannot be killed one by one)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
