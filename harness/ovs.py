"""What the harness knows of Open vSwitch itself: the datapath types, the mark on the bridges
it creates, and which bridges exist and whose they are."""
import json

RUN_ID_KEY = "ovs-harness-run"      # external_ids key on every bridge we create
# and on a bridge a run on several servers creates: the machine that drove the run
# (harness.cluster.this_machine), so that `clean --cluster` there can tell its own runs'.
DRIVER_KEY = "ovs-harness-driver"
DATAPATH_TYPES = {"kernel": "system", "user": "netdev"}


def existing_bridges(tools, where=lambda argv: argv):
    """Return {bridge name: the run id that created it, or None if ovs-harness did not}, of
    the Open vSwitch `where(argv)` runs argv on (here by default; see harness.cluster)."""
    return {name: ids.get(RUN_ID_KEY) for name, ids in bridge_ids(tools, where).items()}


def bridge_ids(tools, where=lambda argv: argv):
    """Return {bridge name: its external_ids}, as existing_bridges."""
    listing = json.loads(tools.run(where(["ovs-vsctl", "--format=json", "--columns=name,external_ids",
                                          "list", "Bridge"])))
    return {name: dict(external_ids[1]) for name, external_ids in listing["data"]}
