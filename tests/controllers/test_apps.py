"""The controller apps against a dummy datapath: the OpenFlow messages they send."""
import inspect

import pytest

from controllers import flow_installer, learning_switch
from controllers.ryu_api import CONFIG_DISPATCHER, MAIN_DISPATCHER, ofp_event
from os_ken.lib.packet import arp, ethernet, packet
from os_ken.ofproto import ofproto_v1_3 as ofproto, ofproto_v1_3_parser as parser

from harness.flows import flow_mod

H1, H2 = "00:00:00:00:00:01", "00:00:00:00:00:02"


class DummyDatapath:
    """Stands in for a switch: records what the app sends. os-ken sets its state."""
    id = 1
    ofproto = ofproto
    ofproto_parser = parser

    def __init__(self):
        self.sent = []
        self.state = CONFIG_DISPATCHER

    def send_msg(self, msg):
        self.sent.append(msg)

    def set_xid(self, msg):
        msg.set_xid(len(self.sent) + 1)


class Message:
    def __init__(self, datapath, **fields):
        self.datapath = datapath
        self.__dict__.update(fields)


def arp_frame(src, dst, opcode):
    frame = packet.Packet()
    frame.add_protocol(ethernet.ethernet(dst=dst, src=src, ethertype=0x0806))
    frame.add_protocol(arp.arp(opcode=opcode, src_mac=src, dst_mac=dst if opcode == 2 else "00:00:00:00:00:00"))
    frame.serialize()
    return bytes(frame.data)


def connect(app, datapath):
    """Deliver a switch's features to every handler the app registered for them, as os-ken's
    dispatcher does (set_ev_cls records the event in the method's `callers`), before os-ken's
    own handler of them gives the datapath its id, as it may: each app handles its events in
    a thread of its own."""
    dpid, datapath.id = datapath.id, None
    event = ofp_event.EventOFPSwitchFeatures(Message(datapath, datapath_id=dpid))
    for _name, method in inspect.getmembers(app, inspect.ismethod):
        if ofp_event.EventOFPSwitchFeatures in getattr(method, "callers", {}):
            method(event)
    datapath.id = dpid


def test_a_switch_is_ready_once_its_handshake_is_done_not_at_its_features():
    """os-ken has a switch's features first, then asks for its port descriptions, and only
    with them serves requests to it (a barrier reply that comes before is dropped)."""
    app = flow_installer.FlowInstaller()
    datapath = DummyDatapath()
    try:
        connect(app, datapath)
        assert app.control_ready() == []
        datapath.state = MAIN_DISPATCHER
        assert app.control_ready() == [1]
    finally:
        app.close()


@pytest.fixture
def connected():
    """A learning switch app with the dummy switch connected. (Closed even when connecting
    fails: its control thread would keep pytest from exiting.)"""
    app = learning_switch.LearningSwitch()
    datapath = DummyDatapath()
    try:
        connect(app, datapath)
        datapath.state = MAIN_DISPATCHER
        assert app.datapaths == {1: datapath}
        yield app, datapath
    finally:
        app.close()


def packet_in(app, datapath, in_port, data):
    app.packet_in_handler(ofp_event.EventOFPPacketIn(Message(datapath, match={"in_port": in_port}, data=data)))


def test_learning_switch_installs_table_miss_to_controller_on_connect(connected):
    app, datapath = connected
    [table_miss] = datapath.sent
    assert isinstance(table_miss, parser.OFPFlowMod) and table_miss.priority == 0
    [output] = table_miss.instructions[0].actions
    assert output.port == ofproto.OFPP_CONTROLLER and output.max_len == ofproto.OFPCML_NO_BUFFER
    assert app.control_ready() == [1] and app.control_stats() == {"packet_ins": 0, "flows_installed": 1}


def test_broadcast_is_flooded_without_a_flow_and_a_known_destination_gets_one(connected):
    app, datapath = connected
    packet_in(app, datapath, 1, arp_frame(H1, "ff:ff:ff:ff:ff:ff", opcode=1))
    [flood] = datapath.sent[1:]
    assert isinstance(flood, parser.OFPPacketOut) and flood.actions[0].port == ofproto.OFPP_FLOOD
    packet_in(app, datapath, 2, arp_frame(H2, H1, opcode=2))
    flow, out = datapath.sent[2:]
    assert isinstance(flow, parser.OFPFlowMod) and flow.priority == 1
    assert dict(flow.match.items()) == {"in_port": 2, "eth_dst": H1, "eth_src": H2}
    assert flow.instructions[0].actions[0].port == 1 and out.actions[0].port == 1
    assert app.control_mac_table() == [{"dpid": 1, "mac": H1, "port": 1}, {"dpid": 1, "mac": H2, "port": 2}]
    assert app.control_stats() == {"packet_ins": 2, "flows_installed": 2}


class AnsweringDatapath(DummyDatapath):
    """A switch that answers barrier requests (but the first `lost` of them) at once, as
    os-ken hands a barrier reply to the apps' handlers of it."""

    def __init__(self, app, lost=0):
        super().__init__()
        self.app, self.lost = app, lost

    def send_msg(self, msg):
        super().send_msg(msg)
        if isinstance(msg, parser.OFPBarrierRequest):
            if self.lost:
                self.lost -= 1
            else:
                self.app.barrier_replied(ofp_event.EventOFPBarrierReply(Message(self, xid=msg.xid)))


def test_flow_installer_sends_the_flow_then_waits_for_the_barrier():
    app = flow_installer.FlowInstaller()
    datapath = AnsweringDatapath(app)
    try:
        connect(app, datapath)
        assert datapath.sent == []      # nothing of its own: no flow, no forwarding
        app.control_add_flow(dpid=1, **flow_mod("priority=60000,dl_dst=00:00:00:00:00:03,actions=output:3"))
        app.control_add_flow(dpid=1, **flow_mod("table=1,cookie=0x2a,idle_timeout=60,actions=NORMAL"))
    finally:
        app.close()
    to_h3, barrier, normal, barrier_again = datapath.sent
    assert (to_h3.priority, dict(to_h3.match.items())) == (60000, {"eth_dst": "00:00:00:00:00:03"})
    assert to_h3.instructions[0].actions[0].port == 3
    assert normal.priority == 32768 and normal.instructions[0].actions[0].port == ofproto.OFPP_NORMAL
    assert (normal.table_id, normal.cookie, normal.idle_timeout, normal.hard_timeout) == (1, 0x2a, 60, 0)
    assert isinstance(barrier, parser.OFPBarrierRequest) and isinstance(barrier_again, parser.OFPBarrierRequest)
    assert app.barrier_replies == {}


def test_a_barrier_reply_that_does_not_come_is_asked_for_again_then_the_flow_fails(monkeypatch):
    monkeypatch.setattr(flow_installer, "BARRIER_WAIT", 0.01)
    app = flow_installer.FlowInstaller()
    answered_late, silent = AnsweringDatapath(app, lost=2), AnsweringDatapath(app, lost=flow_installer.BARRIER_TRIES)
    try:
        connect(app, answered_late)
        app.control_add_flow(dpid=1, **flow_mod("actions=NORMAL"))
        assert [type(msg) for msg in answered_late.sent] == [parser.OFPFlowMod] + [parser.OFPBarrierRequest] * 3
        connect(app, silent)
        with pytest.raises(RuntimeError, match="sent no barrier reply in 5 tries"):
            app.control_add_flow(dpid=1, **flow_mod("actions=NORMAL"))
    finally:
        app.close()
    assert app.barrier_replies == {}


def test_the_harness_waits_for_an_add_flow_longer_than_the_app_asks_for_its_barrier():
    """The app answers an add_flow with an error once its barrier tries are spent; the
    harness's wait for an answer must outlast them, or it reports a timeout instead."""
    from harness.controller import REQUEST_TIMEOUT
    assert REQUEST_TIMEOUT > flow_installer.BARRIER_WAIT * flow_installer.BARRIER_TRIES
