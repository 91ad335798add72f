"""Installs the flows an experiment asks for, with OpenFlow 1.3 FlowMods: the `--flows ryu`
backend of ovs-harness (`--flows ofctl` adds the same flows with ovs-ofctl).

It installs nothing by itself: with no flow, an OpenFlow 1.3 switch drops what it receives,
exactly as the blog's switch without a controller does."""
from controllers.harness_control import ControlledApp
from controllers.ryu_api import FRAMEWORK, app_manager, ofctl_api
from harness.flows import build_flow_mod_parts

# Synchronous request/reply with a switch (used to wait for the barrier reply).
app_manager.require_app(f"{FRAMEWORK}.app.ofctl.service")


class FlowInstaller(ControlledApp):
    """Adds flows on request, as harness.flows.flow_mod describes them."""

    def control_add_flow(self, dpid, table_id, priority, cookie, idle_timeout, hard_timeout, match, actions):
        """Send one FlowMod to switch `dpid` and return once the switch has processed it
        (its barrier reply came back). match: ovs-ofctl field names and values, read by
        os-ken's ofctl_v1_3.to_match; actions: an ovs-ofctl action string, read by os-ken's
        ofctl_string ("drop" for none)."""
        datapath = self.datapaths[dpid]
        parser = datapath.ofproto_parser
        ofp_match, instructions = build_flow_mod_parts(datapath, match, actions)
        datapath.send_msg(parser.OFPFlowMod(datapath=datapath, table_id=table_id, priority=priority,
                                            cookie=cookie, idle_timeout=idle_timeout,
                                            hard_timeout=hard_timeout, match=ofp_match,
                                            instructions=instructions))
        ofctl_api.send_msg(self, parser.OFPBarrierRequest(datapath), reply_cls=parser.OFPBarrierReply)
        return True
