"""`nsim diff`: pairing, phase tables, event sequence differences, JSON, DataFrame, plot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

import nsim
from nsim.cli import main
from nsim.compare.boots import load
from nsim.compare.pairs import compare, pair, sequence_diff, to_text
from nsim.compare.plot import plot
from nsim.sim.engine import simulate
from nsim.sim.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SEED_LOG = str(ROOT / "sample_logs" / "seed-boot.journal")
SEED_HOST = ROOT / "scenarios" / "seed-host.toml"
UUID = "86f71e87-4ae2-48fb-9bcd-c72e3c28e093"
IMAGE = "f0bdf0e7-ebb5-459d-a7a5-a0f0ed13d6d7"


def fleet(seed: int, boots: int = 4) -> object:
    return parse_scenario({
        "seed": seed, "start": "2017-06-16T13:12:52",
        "hosts": [{"name": "cmp", "count": 2, "release": "train", "audit_interval": 0}],
        "images": [{"id": IMAGE, "name": "cirros"}],
        "flavors": [{"name": "m1.tiny", "memory_mb": 512, "disk_gb": 1, "vcpus": 1}],
        "boots": [{"flavor": "m1.tiny", "image": "cirros", "count": boots, "interval": 0.5}]})


def test_sequence_diff() -> None:
    a = ["start", "claim", "net", "image", "xml", "done"]
    b = ["start", "image", "claim", "xml", "xml", "done", "extra"]
    missing, extra, reordered = sequence_diff(a, b)
    assert missing == ["net"]
    assert extra == ["extra", "xml"]
    assert len(reordered) == 1 and reordered[0] in ("claim", "image")
    assert sequence_diff(a, a) == ([], [], [])


def test_seed_against_itself_and_a_mutilated_copy(tmp_path: Path) -> None:
    same = compare(SEED_LOG, SEED_LOG, year=2017)
    (p,) = same.pairs
    assert all(row.delta == 0 for row in p.phases)
    lines = Path(SEED_LOG).read_text().splitlines()
    cut = [line for line in lines if "Instance is running" not in line]
    cut[-3], cut[-4] = cut[-4], cut[-3]  # the two "Took ..." lines swap places
    path = tmp_path / "cut.journal"
    path.write_text("\n".join(cut) + "\n")
    (p,) = compare(SEED_LOG, str(path), year=2017).pairs
    assert p.missing == ["guest_created"]
    assert p.extra == []
    assert p.reordered in (["took_seconds:build"], ["took_seconds:spawn"])


def test_boots_pair_by_order_flavor_and_image_without_shared_uuids(tmp_path: Path) -> None:
    simulate(fleet(1), tmp_path / "a")
    simulate(fleet(2, boots=5), tmp_path / "b")
    result = compare(str(tmp_path / "a"), str(tmp_path / "b"))
    assert [p.by for p in result.pairs] == ["order"] * 4
    assert [(side, boot.outcome) for side, boot in result.unpaired] == [("b", "active")]
    for p in result.pairs:
        assert p.a.signature == p.b.signature == (512, 1, 1, IMAGE)
        assert all(row.delta is not None for row in p.phases if row.name in ("build", "claim"))
    assert "Unpaired in B" in to_text(result)


def test_pairing_prefers_uuid() -> None:
    a, b = load(SEED_LOG, 2017), load(SEED_LOG, 2017)
    pairs, unpaired = pair(a, b)
    assert [(x.uuid, y.uuid, by) for x, y, by in pairs] == [(UUID, UUID, "uuid")]
    assert unpaired == []


def test_json_and_dataframe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = tmp_path / "twin.journal"
    simulate(SEED_HOST, twin)
    assert main(["diff", SEED_LOG, str(twin), "--json", "--year", "2017"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"pairs", "unpaired"}
    (p,) = data["pairs"]
    assert set(p) >= {"a", "b", "phases", "missing", "extra", "reordered"}
    assert [ph["name"] for ph in p["phases"]][:3] == ["claim", "network", "image_fetch"]
    assert set(p["phases"][0]) == {"name", "a_seconds", "b_seconds", "delta"}
    frame = nsim.diff(SEED_LOG, str(twin), year=2017)
    assert list(frame.columns) == ["pair", "a_host", "a_uuid", "b_host", "b_uuid", "phase",
                                   "a_seconds", "b_seconds", "delta"]
    assert len(frame) == 10 and frame["delta"].notna().all()


def test_plot_renders_a_readable_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    simulate(fleet(1), tmp_path / "a")
    simulate(fleet(3), tmp_path / "b")
    png = tmp_path / "timeline.png"
    assert main(["diff", str(tmp_path / "a"), str(tmp_path / "b"), "--plot", str(png)]) == 0
    assert png.stat().st_size > 20_000
    pixels = mpimg.imread(png)
    height, width = pixels.shape[:2]
    assert width >= 1000 and height >= 400
    assert float(np.std(pixels[..., :3])) > 0.1  # not blank: bars, labels, legend
    single = plot(compare(SEED_LOG, SEED_LOG, year=2017), tmp_path / "seed.png")
    assert float(np.std(mpimg.imread(single)[..., :3])) > 0.1


@pytest.mark.parametrize("json_out", [False, True])
def test_unreadable_inputs_are_reported_and_exit_2(tmp_path: Path, json_out: bool,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    missing, directory, text = tmp_path / "nonexist", tmp_path / "adir", tmp_path / "notes.txt"
    directory.mkdir()
    text.write_text("just some notes\n")
    for a, b, says in ((missing, directory, [f"nsim: {missing}: no such file",
                                             f"nsim: {directory}: is a directory"]),
                       (SEED_LOG, text, [f"nsim: {text}: not a nova-compute log"])):
        argv = ["diff", str(a), str(b), "--year", "2017"] + (["--json"] if json_out else [])
        code, out, err = run_cli(argv, capsys)
        assert code == 2, err
        assert out == ""  # no "No boots paired." as if the inputs were fine
        for line in says:
            assert line in err


def test_bad_lines_are_shown_and_the_diff_still_runs(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    dirty = tmp_path / "dirty.journal"
    dirty.write_text("garbage at the top\n" + Path(SEED_LOG).read_text())
    code, out, err = run_cli(["diff", SEED_LOG, str(dirty), "--year", "2017"], capsys)
    assert code == 0
    assert f"nsim: {dirty}:1: " in err
    assert "Pair 1 (by uuid)" in out


def test_api_raises_on_unreadable_inputs(tmp_path: Path) -> None:
    from nsim.compare.boots import UnreadableLog

    with pytest.raises(UnreadableLog, match="no such file"):
        load(str(tmp_path / "nonexist"))
    with pytest.raises(UnreadableLog, match="no such file") as err:
        compare(SEED_LOG, str(tmp_path / "nonexist"), year=2017)
    assert err.value.errors == [f"{tmp_path / 'nonexist'}: no such file"]
    seen: list[str] = []
    with pytest.raises(UnreadableLog):
        compare(str(tmp_path / "a"), str(tmp_path / "b"), on_diagnostic=lambda d: seen.append(str(d)))
    assert seen == [f"{tmp_path / 'a'}: no such file", f"{tmp_path / 'b'}: no such file"]


def test_year_is_checked_like_the_other_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.conftest import run_cli

    code, out, err = run_cli(["diff", SEED_LOG, SEED_LOG, "--year", "99999"], capsys)
    assert code == 2 and out == "" and "is not a year (1970-9999)" in err


def test_importing_the_plot_leaves_the_matplotlib_backend_alone(tmp_path: Path) -> None:
    """A notebook's backend survives `from nsim.compare.plot import plot` and a plot, and the
    plot leaves no pyplot figure open (notebook 03 lost its figure to a global switch to Agg)."""
    out_png = tmp_path / "t.png"
    code = ("import matplotlib; matplotlib.use('svg')\n"
            "import matplotlib.pyplot as plt\n"
            "from nsim.compare.pairs import compare\n"
            "from nsim.compare.plot import plot\n"
            f"plot(compare({SEED_LOG!r}, {SEED_LOG!r}, year=2017), {str(out_png)!r})\n"
            "print(matplotlib.get_backend(), len(plt.get_fignums()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["svg", "0"]
    assert out_png.stat().st_size > 10_000
