"""Installs the flows an experiment asks for, with OpenFlow 1.3 FlowMods: the `--flows ryu`
backend of ovs-harness (`--flows ofctl` adds the same flows with ovs-ofctl).

It installs nothing by itself: with no flow, an OpenFlow 1.3 switch drops what it receives,
exactly as the blog's switch without a controller does."""
import logging

from controllers.harness_control import ControlledApp
from controllers.ryu_api import MAIN_DISPATCHER, TimedEvent, ofp_event, set_ev_cls
from harness.flows import build_flow_mod_parts

LOG = logging.getLogger("flow_installer")
# Seconds a barrier reply may take before the barrier is asked for again, and how many times.
# A switch answers barriers in order, so the reply to any of them says the FlowMod before them
# was processed. (Through os-ken's ofctl service, one add_flow in the kernel-datapath VM,
# starved beside other VMs, was never answered although the switch had logged its FlowMod.)
BARRIER_WAIT, BARRIER_TRIES = 10.0, 5


class FlowInstaller(ControlledApp):
    """Adds flows on request, as harness.flows.flow_mod describes them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.barrier_replies = {}   # xid of a barrier request waited for -> its reply's TimedEvent

    def control_add_flow(self, dpid, table_id, priority, cookie, idle_timeout, hard_timeout, match, actions):
        """Send one FlowMod to switch `dpid` and return once the switch has processed it
        (a barrier reply came back). match: ovs-ofctl field names and values, read by
        os-ken's ofctl_v1_3.to_match; actions: an ovs-ofctl action string, read by os-ken's
        ofctl_string ("drop" for none)."""
        datapath = self.datapaths[dpid]
        parser = datapath.ofproto_parser
        ofp_match, instructions = build_flow_mod_parts(datapath, match, actions)
        datapath.send_msg(parser.OFPFlowMod(datapath=datapath, table_id=table_id, priority=priority,
                                            cookie=cookie, idle_timeout=idle_timeout,
                                            hard_timeout=hard_timeout, match=ofp_match,
                                            instructions=instructions))
        self.wait_for_barrier(datapath)
        return True

    def wait_for_barrier(self, datapath):
        """Send a barrier request and wait for its reply, asking again after BARRIER_WAIT
        seconds; raise RuntimeError (the harness shows it) after BARRIER_TRIES."""
        for _ in range(BARRIER_TRIES):
            request = datapath.ofproto_parser.OFPBarrierRequest(datapath)
            datapath.set_xid(request)
            replied = self.barrier_replies[request.xid] = TimedEvent()
            try:
                datapath.send_msg(request)
                if replied.wait(timeout=BARRIER_WAIT):
                    return
            finally:
                del self.barrier_replies[request.xid]
            LOG.warning("no barrier reply from switch %016x in %g s: asking again", datapath.id, BARRIER_WAIT)
        raise RuntimeError(f"switch {datapath.id:016x} sent no barrier reply in {BARRIER_TRIES} tries")

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def barrier_replied(self, ev):
        replied = self.barrier_replies.get(ev.msg.xid)
        if replied:
            replied.set()
