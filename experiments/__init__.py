"""The experiments shipped with ovs-harness: one module each, found by `python -m harness list`."""
