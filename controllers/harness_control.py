"""The channel through which ovs-harness talks to a controller app: JSON lines on a local
TCP port (--harness-control-port). A request {"op": NAME, "token": ..., ...} calls the app's
`control_NAME(**arguments)` and the reply is {"ok": true, "result": ...} or
{"ok": false, "error": "..."}. Only requests with the token the harness put in the app's
environment ($OVS_HARNESS_CONTROL_TOKEN) are served: the switches run as root, and any
local user could otherwise add flows to them."""
import hmac
import json
import logging
import os
import socket

from controllers.ryu_api import (App, CONFIG_DISPATCHER, MAIN_DISPATCHER, cfg, hub, ofp_event,
                                 ofproto_v1_3, set_ev_cls)

cfg.CONF.register_cli_opts([
    cfg.IntOpt("harness-control-port", default=0, help="local TCP port for ovs-harness requests"),
])
LOG = logging.getLogger("harness_control")


class ControlledApp(App):
    """An OpenFlow 1.3 app that ovs-harness can ask for its state, and that logs every
    OpenFlow error a switch reports (the harness fails the run on such a line)."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datapaths = {}     # dpid -> datapath, for the switches connected
        self.token = os.environ.get("OVS_HARNESS_CONTROL_TOKEN", "")
        self.control = hub.StreamServer(("127.0.0.1", self.CONF.harness_control_port), self._serve)
        self.threads.append(hub.spawn(self._serve_until_closed))

    def _serve_until_closed(self):
        try:
            self.control.serve_forever()
        except OSError:     # close() shut the listening socket down
            pass

    def close(self):
        """Stop answering the harness (os-ken calls this when the app stops)."""
        self.control.server.shutdown(socket.SHUT_RDWR)
        self.control.server.close()
        super().close()

    def _serve(self, connection, _address):
        stream = connection.makefile("rw")
        for line in stream:
            request = json.loads(line)
            if not self.token or not hmac.compare_digest(str(request.pop("token", "")), self.token):
                LOG.warning("refused a control request without the harness's token")
                stream.write(json.dumps({"ok": False, "error": "not authorised"}) + "\n")
                stream.flush()
                continue
            op = request.pop("op")
            # Each request other than the harness's polls is logged with its answer, so a
            # run that waited for one in vain says, in its controller.log, where it stopped.
            quiet = op == "ready"
            if not quiet:
                LOG.info("harness asks %s %s", op, request)
            try:
                reply = {"ok": True, "result": getattr(self, f"control_{op}")(**request)}
            except Exception as error:  # the harness shows it; the app keeps serving
                LOG.exception("harness request %s %s failed", op, request)
                reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            if not quiet:
                LOG.info("answered %s", op)
            stream.write(json.dumps(reply) + "\n")
            stream.flush()

    def control_ready(self):
        """Return the datapath ids of the switches whose handshake is done: os-ken has their
        port descriptions, and only then hands the apps the switch's replies (a barrier
        reply from a switch still being configured is dropped: a request that waited for one
        would wait in vain)."""
        return sorted(dpid for dpid, datapath in self.datapaths.items() if datapath.state == MAIN_DISPATCHER)

    def control_mac_table(self):
        """Return the MACs the app learned, [{"dpid", "mac", "port"}]: none unless it learns."""
        return []

    def control_stats(self):
        """Return the app's counters, {name: number}: none unless it counts."""
        return {}

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def remember_datapath(self, ev):
        """Know every switch that connects, for the harness's requests. (An app's own
        handler of the same event, under another name, runs too.) The id comes from the
        message: os-ken's own handler of this event sets `datapath.id`, and may run after
        this one."""
        self.datapaths[ev.msg.datapath_id] = ev.msg.datapath

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def error_msg_handler(self, ev):
        msg = ev.msg
        LOG.error("OpenFlow error from switch %016x: type=0x%02x code=0x%02x", msg.datapath.id,
                  msg.type, msg.code)
