"""Hardware-backed mode: nova-compute's boot steps done for real with qemu-img and libvirt.

`doctor` checks and fixes the machine, `guest_image` builds a tiny guest offline,
`image_service` serves it the way Glance's API does, `boot` performs nova's boot in
nova's order (driving nsim.model and writing nova's log lines), `faults` injects the
failures nova handles. Every path lives under one work directory (`workdir`).
"""
