"""The two ways a run installs an experiment's flows, behind one `add(switch, flow)`:
`ovs-ofctl add-flow`, as the blog does by hand, or a FlowMod sent by the controller app
controllers/flow_installer.py (`run --flows ryu`). The flow is written in ovs-ofctl syntax
either way; the experiment's code does not change.

For the ryu backend, os-ken's own translators read the flow, as its ofctl REST API does:
`os_ken.lib.ofctl_v1_3.to_match` the match fields (ovs-ofctl's names: dl_dst, nw_dst, which
for ARP means arp_tpa, tp_dst...), `os_ken.lib.ofctl_string` the actions (output, normal,
goto_table, resubmit, set_field, pop_vlan, ct...). The harness checks here, before anything
is sent, that they accept the flow, so what they cannot express is one clear error.
"""
import logging
import types

from .errors import HarnessError

# ovs-ofctl's protocol keywords and the match fields each stands for (ovs-fields(7)).
PROTOCOLS = {"ip": {"dl_type": 0x0800}, "arp": {"dl_type": 0x0806},
             "icmp": {"dl_type": 0x0800, "nw_proto": 1}, "tcp": {"dl_type": 0x0800, "nw_proto": 6},
             "udp": {"dl_type": 0x0800, "nw_proto": 17}, "sctp": {"dl_type": 0x0800, "nw_proto": 132}}
# Fields of a flow that are not match fields: FlowMod arguments, OpenFlow 1.3 names.
FLOW_MOD_FIELDS = {"table": "table_id", "priority": "priority", "cookie": "cookie",
                   "idle_timeout": "idle_timeout", "hard_timeout": "hard_timeout"}
DEFAULT_PRIORITY = 32768
# ovs-ofctl's names for OpenFlow's reserved ports, which os-ken's action parser only takes
# as numbers (OpenFlow 1.3 numbering).
RESERVED_PORTS = {"in_port": 0xfffffff8, "table": 0xfffffff9, "flood": 0xfffffffb,
                  "all": 0xfffffffc, "controller": 0xfffffffd, "local": 0xfffffffe}


class _Flows:
    def __init__(self, tools, network):
        self._tools = tools
        self._network = network


class OfctlFlows(_Flows):
    """Installs flows with `ovs-ofctl add-flow`."""

    name = "ofctl"

    def add(self, switch, flow):
        """Add `flow` (ovs-ofctl syntax, e.g. "action=normal") to `switch`, or to an OVS
        node's bridge ("node/bridge")."""
        self._network.require_bridge(switch)
        self._tools.run(self._network.ofctl(switch, "add-flow", flow))


def _split_flow(flow):
    """Split an ovs-ofctl flow into its fields before actions=, [(key, value)], and its
    action string. Raises HarnessError if it has no actions."""
    for separator in (",actions=", ",action="):
        if separator in f",{flow}":
            fields, _separator, actions = f",{flow}".partition(separator)
            break
    else:
        raise HarnessError(f"cannot read flow {flow!r}: it has no actions=")
    pairs = [item.strip().partition("=") for item in fields.split(",") if item.strip()]
    return [(key, value) for key, _equals, value in pairs], actions.strip()


def _action_string(actions):
    """ovs-ofctl's action string as os-ken's parser takes it: keywords in lower case,
    `output:NORMAL` as `normal`, a bare port number as `output:N`, reserved port names
    (flood, in_port, ...) as their numbers."""
    words = []
    for word in actions.lower().split(","):
        port = word.removeprefix("output:")
        if port == "normal":
            word = "normal"
        elif port in RESERVED_PORTS:
            word = f"output:{RESERVED_PORTS[port]}"
        elif port.isdigit():
            word = f"output:{port}"
        words.append(word)
    return ",".join(words)


def _stand_in_datapath():
    """Enough of an OpenFlow 1.3 datapath for os-ken's translators to build messages."""
    from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser
    return types.SimpleNamespace(ofproto=ofproto_v1_3, ofproto_parser=ofproto_v1_3_parser)


def build_flow_mod_parts(datapath, match, actions):
    """Return (OFPMatch, [instructions]) for a flow_mod() result's match and actions, with
    os-ken's translators; the flow installer app calls this with its real datapath."""
    from os_ken.lib import ofctl_string, ofctl_v1_3
    from os_ken.ofproto.ofproto_parser import ofp_instruction_from_jsondict
    instructions = ofctl_string.ofp_instruction_from_str(datapath.ofproto, actions)
    unknown_fields_log = logging.getLogger(ofctl_v1_3.__name__)
    unknown_fields_log.disabled = True      # an unknown field is found by counting, and said once
    try:
        match = ofctl_v1_3.to_match(datapath, dict(match))
    finally:
        unknown_fields_log.disabled = False
    return match, ofp_instruction_from_jsondict(datapath, instructions)


def flow_mod(flow):
    """Translate an ovs-ofctl flow into what the flow installer app sends: {"table_id",
    "priority", "cookie", "idle_timeout", "hard_timeout", "match" (ovs-ofctl field names, as
    os_ken.lib.ofctl_v1_3.to_match takes them), "actions" (an action string, as
    os_ken.lib.ofctl_string reads it)}. Raises HarnessError for what the app cannot install."""
    fields, actions = _split_flow(flow)
    mod = {"table_id": 0, "priority": DEFAULT_PRIORITY, "cookie": 0, "idle_timeout": 0, "hard_timeout": 0}
    match = {}
    for key, value in fields:
        if key in FLOW_MOD_FIELDS:
            try:
                mod[FLOW_MOD_FIELDS[key]] = int(value, 0)
            except ValueError:
                raise HarnessError(f"cannot read flow {flow!r}: {key}={value} is not a number") from None
        elif key in PROTOCOLS and not value:
            match.update(PROTOCOLS[key])
        elif value:
            match[key] = value
        else:
            raise HarnessError(f"the ryu flow backend cannot match on {key!r} (in {flow!r}): use --flows ofctl")
    mod.update(match=match, actions=_action_string(actions))
    _require_translatable(flow, mod)
    return mod


def _require_translatable(flow, mod):
    """Raise HarnessError unless os-ken's translators take the flow's match and actions
    whole (to_match drops a field it does not know, with only a log line)."""
    datapath = _stand_in_datapath()
    try:
        match, _instructions = build_flow_mod_parts(datapath, mod["match"], mod["actions"])
    except Exception as refusal:      # os-ken raises its own errors, KeyError, ValueError...
        what = f"{type(refusal).__name__}: {refusal}".rstrip(": ")
        raise HarnessError(f"the ryu flow backend cannot install {flow!r} ({what}): use --flows ofctl") from None
    if _field_count(match) == len(mod["match"]):
        return
    prerequisites = {key: mod["match"][key] for key in ("dl_type", "nw_proto") if key in mod["match"]}
    for key, value in mod["match"].items():
        alone = build_flow_mod_parts(datapath, {**prerequisites, key: value}, "drop")[0]
        if _field_count(alone) == len(prerequisites) and key not in prerequisites:
            raise HarnessError(f"the ryu flow backend cannot match on {key!r} (in {flow!r}): use --flows ofctl")
    raise HarnessError(f"the ryu flow backend cannot install {flow!r}: use --flows ofctl")


def _field_count(match):
    return len(match.to_jsondict()["OFPMatch"]["oxm_fields"])


class ControllerFlows(_Flows):
    """Installs flows with FlowMods from the controller app (`--flows ryu`)."""

    name = "ryu"

    def __init__(self, tools, network, controller):
        super().__init__(tools, network)
        self._controller = controller

    def add(self, switch, flow):
        """Have the app send `flow` (ovs-ofctl syntax) to `switch` as a FlowMod; returns once
        the switch has processed it (the app waits for its barrier reply)."""
        self._network.require_switch(switch)
        fields = flow_mod(flow)
        self._controller.check_alive()
        self._controller.request("add_flow", dpid=self._network.dpids()[switch], **fields)
        self._tools.transcript.record("controller", ["add-flow", switch, flow], "", 0)
