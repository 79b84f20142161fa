"""Replaying logs through the host model and checking what they claim."""
