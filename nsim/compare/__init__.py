"""Comparing traces (`nsim diff`): pairing boots, phase tables, missing/extra/reordered
events, timelines."""

# Sizes of the timeline plot (nsim.compare.plot): `auto` grows with the boots, `slide` is 16:9.
PLOT_SIZES: tuple[str, ...] = ("auto", "slide")
