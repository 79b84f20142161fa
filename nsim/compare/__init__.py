"""Comparing traces (`nsim diff`): pairing boots, phase tables, missing/extra/reordered
events, timelines."""
