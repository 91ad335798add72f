"""The two ways a run installs an experiment's flows, behind one `add(switch, flow)`:
`ovs-ofctl add-flow`, as the blog does by hand, or a FlowMod sent by the controller app
controllers/flow_installer.py (`run --flows ryu`). The flow is written in ovs-ofctl syntax
either way; the experiment's code does not change."""
from .errors import HarnessError
from .parsers import parse_flow_spec

# ovs-ofctl match fields and their OpenFlow 1.3 (os-ken OFPMatch) names.
OXM_FIELDS = {"dl_dst": "eth_dst", "dl_src": "eth_src", "in_port": "in_port", "dl_type": "eth_type",
              "nw_src": "ipv4_src", "nw_dst": "ipv4_dst"}
PROTOCOLS = {"arp": {"eth_type": 0x0806}, "ip": {"eth_type": 0x0800},
             "icmp": {"eth_type": 0x0800, "ip_proto": 1}}


class _Flows:
    def __init__(self, tools, switches):
        self._tools = tools
        self._switches = switches

    def _check_switch(self, switch):
        if switch not in self._switches:
            raise HarnessError(f"no switch {switch!r} in this topology "
                               f"(switches: {', '.join(self._switches)})")


class OfctlFlows(_Flows):
    """Installs flows with `ovs-ofctl add-flow`."""

    name = "ofctl"

    def add(self, switch, flow):
        """Add `flow` (ovs-ofctl syntax, e.g. "action=normal") to `switch`."""
        self._check_switch(switch)
        self._tools.run(["ovs-ofctl", "add-flow", switch, flow])


def flow_mod(flow):
    """Translate an ovs-ofctl flow into the FlowMod fields the flow installer app takes:
    {"priority", "match" (OFPMatch names), "actions" ([{"output": port}] / [{"normal": true}])}.
    Raises HarnessError for what the app cannot install."""
    try:
        priority, fields, actions = parse_flow_spec(flow)
    except ValueError as error:
        raise HarnessError(f"cannot read flow {flow!r}: {error}") from None
    match = {}
    for field, text in fields:
        if field in PROTOCOLS:
            match.update(PROTOCOLS[field])
        elif field in OXM_FIELDS:
            match[OXM_FIELDS[field]] = int(text, 0) if field in ("in_port", "dl_type") else text
        else:
            raise HarnessError(f"the ryu flow backend cannot match on {field!r} (in {flow!r}): "
                               "use --flows ofctl")
    translated = []
    for action, value in actions:
        port = value.get("port") if action == "output" else None
        if action == "drop":
            continue
        if str(port).lower() == "normal":
            translated.append({"normal": True})
        elif isinstance(port, int):
            translated.append({"output": port})
        else:
            raise HarnessError(f"the ryu flow backend cannot do action {action}:{value} "
                               f"(in {flow!r}): use --flows ofctl")
    return {"priority": priority, "match": match, "actions": translated}


class ControllerFlows(_Flows):
    """Installs flows with FlowMods from the controller app (`--flows ryu`)."""

    name = "ryu"

    def __init__(self, tools, switches, controller, dpids):
        super().__init__(tools, switches)
        self._controller = controller
        self._dpids = dpids     # switch name -> datapath id

    def add(self, switch, flow):
        """Have the app send `flow` (ovs-ofctl syntax) to `switch` as a FlowMod; returns once
        the switch has processed it (the app waits for its barrier reply)."""
        self._check_switch(switch)
        fields = flow_mod(flow)
        self._controller.check_alive()
        self._controller.request("add_flow", dpid=self._dpids[switch], **fields)
        self._tools.transcript.record("controller", ["add-flow", switch, flow], "", 0)
