"""A file with a syntax error on line 4."""
from harness import Experiment

class Broken(Experiment:
    pass
