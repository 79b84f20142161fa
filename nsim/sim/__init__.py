"""Simulating nova-compute: scenarios, the SimPy engine, durations, faults, `--like` fitting."""
