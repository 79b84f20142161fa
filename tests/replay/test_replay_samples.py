"""Replaying the bundled sample logs: every format, alone and together."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsim.replay.run import replay

SAMPLES = Path(__file__).resolve().parents[2] / "sample_logs"
BOOTS = ("seed-boot", "second-boot", "refused-claim", "failed-spawn")
SEED = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
SECOND = "3b8c2e1f-5a4d-4c6e-9f27-d81a0b4c6e93"
REFUSED = "d5e3a7c9-2b1f-4e8d-a6c4-9f0b3e7d1c58"
FAILED = "a91c5d27-6e3b-4f08-8d4a-2b7e0c9f5163"


def sample(boot: str, ext: str) -> str:
    return str(SAMPLES / f"{boot}.{ext}")


@pytest.mark.parametrize("ext", ["journal", "oslo.log", "json"])
@pytest.mark.parametrize("boot", BOOTS)
def test_each_sample_replays_clean_alone(boot: str, ext: str) -> None:
    result = replay([sample(boot, ext)], year=2017)
    assert result.violations == [], [str(v) for v in result.violations]
    assert result.counts.unknown == 0 and result.counts.bad_lines == 0


@pytest.mark.parametrize("ext", ["journal", "json"])
def test_all_boots_together_on_one_host(ext: str) -> None:
    result = replay([sample(b, ext) for b in BOOTS], year=2017)
    assert result.violations == []
    (host,) = result.hosts.values()
    outcomes = {u: i.outcome.value for u, i in host.instances.items()}
    assert outcomes == {SEED: "active", SECOND: "active", REFUSED: "rescheduled",
                        FAILED: "rescheduled"}
    caches = {u: i.image_cache for u, i in host.instances.items()}
    assert caches == {SEED: "miss", SECOND: "hit", REFUSED: None, FAILED: "hit"}
    assert (host.cache.hits, host.cache.misses) == (2, 1)
    # reserved 512 MB + two running m1.tiny instances; the refused and failed claims are gone
    view = host.tracker.view()
    assert (view.used_ram_mb, view.used_disk_gb, view.used_vcpus) == (1536, 2, 2)
    assert set(host.tracker.claims) == {SEED, SECOND}


def test_second_boot_alone_infers_the_cached_base_and_earlier_usage() -> None:
    result = replay([sample("second-boot", "journal")], year=2017)
    text = [a.message for a in result.assumptions]
    assert any("was cached before the log window" in m for m in text)
    assert any("memory in use before the window: 1024 MB" in m for m in text)
    inst = result.hosts["compute"].instances[SECOND]
    assert inst.image_cache == "hit" and inst.outcome.value == "active"


def test_refused_claim_is_rescheduled_and_leaves_no_claim() -> None:
    result = replay([sample(b, "journal") for b in ("seed-boot", "second-boot", "refused-claim")],
                    year=2017)
    host = result.hosts["compute"]
    inst = host.instances[REFUSED]
    assert inst.outcome.value == "rescheduled"
    assert (inst.vm_state.value, inst.task_state.value) == ("building", "scheduling")
    assert REFUSED not in host.tracker.claims


def test_refused_claim_that_would_fit_is_flagged(tmp_path: Path) -> None:
    lines = (SAMPLES / "refused-claim.journal").read_text().replace(
        "memory 16384 MB", "memory 1024 MB").splitlines()
    path = tmp_path / "refused.journal"
    path.write_text("\n".join(lines) + "\n")
    result = replay([sample("seed-boot", "journal"), sample("second-boot", "journal"), str(path)],
                    year=2017)
    assert "claim-decision" in {v.rule for v in result.violations}


def test_failed_spawn_keeps_its_traceback_and_gives_back_its_claim() -> None:
    result = replay([sample("failed-spawn", "journal")], year=2017)
    inst = result.hosts["compute"].instances[FAILED]
    assert inst.outcome.value == "rescheduled"
    assert FAILED not in result.hosts["compute"].tracker.claims


def test_tampered_used_memory_in_second_boot_is_flagged_at_its_line(tmp_path: Path) -> None:
    lines = (SAMPLES / "second-boot.journal").read_text().splitlines()
    n = next(i for i, line in enumerate(lines, 1) if "Total memory: 7983 MB, used: 1024.00 MB" in line)
    lines[n - 1] = lines[n - 1].replace("used: 1024.00 MB", "used: 512.00 MB")
    path = tmp_path / "second.journal"
    path.write_text("\n".join(lines) + "\n")
    result = replay([sample("seed-boot", "journal"), str(path)], year=2017)
    assert [(v.source, v.line, v.rule) for v in result.violations] == [(str(path), n, "claim-used")]
    assert "model has 1024.00 MB" in result.violations[0].message
