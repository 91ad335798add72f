from harness import Experiment, SingleSwitch


class BadCapture(Experiment):
    """Checks frames where nothing is captured."""
    topology = SingleSwitch(hosts=2)

    def run(self, lab):
        with lab.step("x"):
            lab.ping("h1", "h2")
            lab.check.frames_seen("h2", 1, kind="echo request")
