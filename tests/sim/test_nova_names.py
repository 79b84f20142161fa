"""nsim.nova.names and nsim.nova.network_info: nova's names and network texts, shared by the
simulator, the comparison and the hardware mode."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from nsim.events.build import parse_network_info
from nsim.nova.names import (
    BUILD_FUNCTION,
    CLAIM_FUNCTION,
    COMPUTE_RESOURCES,
    FETCH_FUNCTION,
    OVERLAY_FUNCTIONS,
    PY2_OWNERS,
    PY3_OWNERS,
    UUID_PATTERN,
    is_uuid,
    owner_function,
    owners,
)
from nsim.nova.network_info import PortInfo, fixed_port, network_info_json, os_vif_repr, vif_model

SEED = Path(__file__).resolve().parents[2] / "sample_logs" / "seed-boot.journal"
UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
PORT = PortInfo(id="4c3d3a9e-7d5b-4d5e-9a39-0b3f6c1e2a10", mac="fa:16:3e:5b:2c:91",
                address="172.12.12.7", cidr="172.12.12.0/24", gateway="172.12.12.1",
                dhcp_server="172.12.12.2", network_id="4f28b3ec-cc2d-4a1b-8f3e-6a7b9c0d1e2f",
                tenant_id="6c8ec1a8a4b44a3f9a1f0b7a4c2d5e61", bridge="brq4f28b3ec-cc",
                devname="tap4c3d3a9e-7d")


def test_owner_names_in_both_pythons() -> None:
    assert owners(True) is PY3_OWNERS and owners(False) is PY2_OWNERS
    # docs/nova.md §1 (manager.py:2380) and the py2 form of the seed / lxc#1786.
    assert PY3_OWNERS.build == ("nova.compute.manager.ComputeManager.build_and_run_instance."
                                "<locals>._locked_do_build_and_run_instance")
    assert PY2_OWNERS.build == "nova.compute.manager._locked_do_build_and_run_instance"
    assert PY2_OWNERS.update_usage == "nova.compute.resource_tracker.update_usage"
    assert PY3_OWNERS.claim == "nova.compute.resource_tracker.ResourceTracker.instance_claim"
    assert PY3_OWNERS.fetch.endswith("Image.cache.<locals>.fetch_func_sync")
    for names in (PY2_OWNERS, PY3_OWNERS):
        assert owner_function(names.build) == BUILD_FUNCTION
        assert owner_function(names.claim) == CLAIM_FUNCTION
        assert owner_function(names.abort_claim) != CLAIM_FUNCTION
        assert owner_function(names.fetch) == FETCH_FUNCTION
        assert owner_function(names.create_image) in OVERLAY_FUNCTIONS
    assert COMPUTE_RESOURCES == "compute_resources"


@pytest.mark.parametrize(("text", "ok"), [
    (UUID, True), (UUID.upper(), False), (UUID + "\n", False), ("x" + UUID, False),
    (UUID[:-1], False), (UUID.replace("-", ""), False), ("", False),
])
def test_instance_uuid(text: str, ok: bool) -> None:
    import re

    assert is_uuid(text) is ok
    # The pydantic pattern (Rust regex: `$` is the end of the text) agrees without a newline.
    if "\n" not in text:
        assert (re.fullmatch(UUID_PATTERN.strip("^$"), text) is not None) is ok


def test_network_info_reads_back_and_keeps_the_seed_order() -> None:
    py2 = network_info_json([PORT], "pike")
    # The seed boot (Pike, py2) prints its network_info in exactly this order.
    seed = SEED.read_text(encoding="utf-8")
    assert f"network_info: |{py2}|" in seed
    for release in ("pike", "ussuri", "xena"):
        (vif,), complete = parse_network_info(network_info_json([PORT], release))
        assert complete
        assert (vif.id, vif.mac, vif.vif_type, vif.bridge, vif.devname) == (
            PORT.id, PORT.mac, "bridge", PORT.bridge, PORT.devname)
        assert vif.fixed_ips == [PORT.address] and vif.cidrs == [PORT.cidr]
    py3, xena = vif_model(PORT, "wallaby"), vif_model(PORT, "xena")
    assert list(py3)[:3] == ["id", "address", "network"] and "delegate_create" not in py3
    assert xena["delegate_create"] is True  # nova 24 added it (nova/network/model.py VIF)
    assert list(xena)[-2:] == ["delegate_create", "meta"]
    assert json.loads(py2)[0] == py3 == {k: v for k, v in xena.items() if k != "delegate_create"}
    assert network_info_json([], "zed") == "[]"


def test_os_vif_reprs() -> None:
    seed = SEED.read_text(encoding="utf-8")
    assert f"Plugging vif {os_vif_repr(PORT)} " in seed
    ovs = PortInfo(**{**PORT.__dict__, "vif_type": "ovs", "bridge": "br-int"})
    assert os_vif_repr(ovs).startswith("VIFOpenVSwitch(active=False,address=fa:16:3e:5b:2c:91,"
                                       "bridge_name='br-int',")
    assert vif_model(ovs, "zed")["ovs_interfaceid"] == PORT.id


def test_simulator_and_hardware_mode_share_one_port_type() -> None:
    from nsim.hw import network
    from nsim.hw.state import VifRecord

    # The simulator's port: a /24 around its address, its bridge by VIF type.
    port = fixed_port(PORT.id, PORT.mac, PORT.address, PORT.network_id, PORT.tenant_id)
    assert port == PORT and port.event == f"network-vif-plugged-{PORT.id}"
    assert port.with_vif_type("ovs") == replace(PORT, vif_type="ovs", bridge="br-int")
    assert port.with_vif_type("ovs").with_vif_type("bridge") == PORT
    # Hardware mode's: the same type, on its private network, kept in its state records.
    hw = network.allocate_port("proj")
    assert isinstance(hw, PortInfo)
    assert (hw.tenant_id, hw.bridge, hw.devname, hw.mtu, hw.cidr, hw.gateway) == \
        ("proj", network.BRIDGE, f"tap{hw.id[:11]}", 1500, "10.77.0.0/24", "10.77.0.1")
    record = VifRecord(**network.vif_record(hw))
    assert (record.port_id, record.address, record.bridge) == (hw.id, hw.address, hw.bridge)
