"""A reactive L2 learning switch in the style of Ryu's simple_switch_13: every frame the
switch has no flow for comes to the app (table-miss flow), which learns the source MAC's
port, and for a destination it knows installs a flow (in_port, eth_src, eth_dst -> port).

ovs-harness asks it for its MAC table and what it did (control_mac_table, control_stats),
to compare with OVS's own learning under NORMAL."""
from controllers.harness_control import ControlledApp
from controllers.ryu_api import CONFIG_DISPATCHER, MAIN_DISPATCHER, ethernet, ofp_event, packet, set_ev_cls


class LearningSwitch(ControlledApp):
    """simple_switch_13, which tells ovs-harness what it learned."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mac_to_port = {}       # dpid -> {mac: port}
        self.packet_ins = 0
        self.flows_installed = 0

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def switch_features_handler(self, ev):
        datapath = ev.msg.datapath
        ofproto, parser = datapath.ofproto, datapath.ofproto_parser
        self.mac_to_port.setdefault(ev.msg.datapath_id, {})     # (os-ken may set datapath.id after this handler)
        # Table-miss: everything without a better flow comes to the controller, whole.
        self.add_flow(datapath, 0, parser.OFPMatch(),
                      [parser.OFPActionOutput(ofproto.OFPP_CONTROLLER, ofproto.OFPCML_NO_BUFFER)])

    def add_flow(self, datapath, priority, match, actions):
        parser, ofproto = datapath.ofproto_parser, datapath.ofproto
        instructions = [parser.OFPInstructionActions(ofproto.OFPIT_APPLY_ACTIONS, actions)]
        datapath.send_msg(parser.OFPFlowMod(datapath=datapath, priority=priority, match=match,
                                            instructions=instructions))
        self.flows_installed += 1

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in_handler(self, ev):
        msg = ev.msg
        datapath = msg.datapath
        ofproto, parser = datapath.ofproto, datapath.ofproto_parser
        in_port = msg.match["in_port"]
        frame = packet.Packet(msg.data).get_protocols(ethernet.ethernet)[0]
        self.packet_ins += 1
        table = self.mac_to_port.setdefault(datapath.id, {})
        table[frame.src] = in_port
        out_port = table.get(frame.dst, ofproto.OFPP_FLOOD)
        actions = [parser.OFPActionOutput(out_port)]
        if out_port != ofproto.OFPP_FLOOD:
            self.add_flow(datapath, 1, parser.OFPMatch(in_port=in_port, eth_dst=frame.dst,
                                                       eth_src=frame.src), actions)
        datapath.send_msg(parser.OFPPacketOut(datapath=datapath, buffer_id=ofproto.OFP_NO_BUFFER,
                                              in_port=in_port, actions=actions, data=msg.data))

    def control_mac_table(self):
        """Return [{"dpid", "mac", "port"}] for every MAC learned."""
        return [{"dpid": dpid, "mac": mac, "port": port}
                for dpid, table in sorted(self.mac_to_port.items()) for mac, port in sorted(table.items())]

    def control_stats(self):
        """Return how many packet-ins the app handled and flows it installed."""
        return {"packet_ins": self.packet_ins, "flows_installed": self.flows_installed}
