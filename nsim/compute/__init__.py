"""nova-compute's own code paths, written once against a driver (see manager.py)."""
