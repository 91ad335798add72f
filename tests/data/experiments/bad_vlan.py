from harness import Experiment, Link, Topology


class BadVlan(Experiment):
    """A VLAN out of range."""
    topology = Topology(switches=["s1"], links=[Link("h1", "s1", tag=4095), ("h2", "s1")])

    def run(self, lab):
        with lab.step("x"):
            lab.check.mac_table_empty("s1")
