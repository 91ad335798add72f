"""NORMAL on every switch of a topology chosen by parameter, then all-pairs reachability."""
from harness import Experiment, Linear, Parameter, SingleSwitch, Tree


class ReachEverywhere(Experiment):
    """Every host reaches every other once every switch has a NORMAL flow."""

    shape = Parameter(str, "single", "single, linear or tree", choices=("single", "linear", "tree"))
    size = Parameter(int, 4, "hosts (single), switches (linear) or depth (tree)", minimum=1, maximum=64)

    @property
    def topology(self):
        return {"single": lambda: SingleSwitch(hosts=self.size),
                "linear": lambda: Linear(switches=self.size, hosts_per_switch=2),
                "tree": lambda: Tree(depth=self.size, fanout=2)}[self.shape]()

    def run(self, lab):
        with lab.step("no flows"):
            lab.reachability()
        with lab.step("NORMAL everywhere"):
            for switch in lab.network.switches():
                lab.flows.add(switch, "action=normal")
            lab.reachability()
            lab.check.all_reachable()
