"""nova's concepts as a model of one compute host: resource tracker and claims, image
cache, instance lifecycle, locks. Replay, simulation and hardware mode all drive it."""
