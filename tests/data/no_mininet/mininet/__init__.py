# Stands in for a machine without Mininet: importing it fails as a missing package would.
raise ImportError("No module named 'mininet' (simulated by the tests)")
