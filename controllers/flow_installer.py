"""Installs the flows an experiment asks for, with OpenFlow 1.3 FlowMods: the `--flows ryu`
backend of ovs-harness (`--flows ofctl` adds the same flows with ovs-ofctl).

It installs nothing by itself: with no flow, an OpenFlow 1.3 switch drops what it receives,
exactly as the blog's switch without a controller does."""
from controllers.harness_control import ControlledApp
from controllers.ryu_api import FRAMEWORK, app_manager, ofctl_api

# Synchronous request/reply with a switch (used to wait for the barrier reply).
app_manager.require_app(f"{FRAMEWORK}.app.ofctl.service")


class FlowInstaller(ControlledApp):
    """Adds flows on request: priority, match fields (os-ken OFPMatch names) and actions."""

    def control_add_flow(self, dpid, priority, match, actions):
        """Send one FlowMod to switch `dpid` and return once the switch has processed it
        (its barrier reply came back). actions: [{"output": PORT}] or [{"normal": true}]
        items; an empty list drops."""
        datapath = self.datapaths[dpid]
        ofproto, parser = datapath.ofproto, datapath.ofproto_parser
        ports = [ofproto.OFPP_NORMAL if action.get("normal") else action["output"] for action in actions]
        instructions = [parser.OFPInstructionActions(ofproto.OFPIT_APPLY_ACTIONS,
                                                     [parser.OFPActionOutput(port) for port in ports])]
        datapath.send_msg(parser.OFPFlowMod(datapath=datapath, priority=priority,
                                            match=parser.OFPMatch(**match), instructions=instructions))
        ofctl_api.send_msg(self, parser.OFPBarrierRequest(datapath), reply_cls=parser.OFPBarrierReply)
        return True
