"""nova's guest XML read back once (nsim.nova.guest_xml), from what the simulator writes."""

from __future__ import annotations

from nsim.nova import guest_xml
from nsim.sim.texts import GuestSpec, Port
from nsim.sim.texts import guest_xml as render

UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
IMAGE = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"


def _spec() -> GuestSpec:
    port = Port(id="3b1f8a2e-4c5d-4e6f-8a9b-0c1d2e3f4a5b", mac="fa:16:3e:00:00:01",
                ip="10.0.0.5", network_id="9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                tenant_id="0123456789abcdef0123456789abcdef", vif="bridge")
    return GuestSpec(uuid=UUID, domain="instance-00000001", name="vm-1", flavor="m1.small",
                     memory_mb=2048, disk_gb=20, vcpus=1, image_id=IMAGE, image_name="cirros",
                     disk_format="qcow2", image_bytes=12716032,
                     instance_dir=f"/opt/stack/data/nova/instances/{UUID}", port=port)


def test_reads_what_nova_writes() -> None:
    facts = guest_xml.read(render(_spec(), "stein"))
    assert (facts.flavor, facts.name, facts.root_image) == ("m1.small", "vm-1", IMAGE)
    assert {k: facts.sizes[k] for k in ("memory", "disk", "vcpus")} == \
        {"memory": 2048, "disk": 20, "vcpus": 1}
    assert facts.disk == f"/opt/stack/data/nova/instances/{UUID}/disk"
    assert facts.nova_major == 19 and not facts.extras


def test_a_cut_xml_still_says_what_it_says() -> None:
    xml = render(_spec(), "train")
    cut = xml[:xml.index("<nova:vcpus>")]
    facts = guest_xml.read(cut)
    assert facts.sizes.get("memory") == 2048 and "vcpus" not in facts.sizes
    assert facts.disk is None and facts.root_image is None
    assert guest_xml.read("<nova:ephemeral>1</nova:ephemeral>").extras
