"""nova's vocabulary, written once: its releases, the names it logs (locks, owners, uuids),
network_info and os-vif reprs, qemu-img command lines. Everything else in nsim (catalog,
model, simulator, hardware mode, replay) takes these from here."""
