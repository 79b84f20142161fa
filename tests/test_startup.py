"""Start-up: `nsim --version`, and which heavy libraries the command line imports up front."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

import nsim

HEAVY = ("pandas", "matplotlib", "textual", "distributed", "libvirt")


def _imported_after(code: str) -> set[str]:
    """The HEAVY top-level packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split()) & set(HEAVY)


def test_version_prints_the_package_version() -> None:
    out = subprocess.run([sys.executable, "-m", "nsim.cli", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout == f"nsim {version('nsim')}\n"


@pytest.mark.parametrize("code", ["import nsim", "import nsim.cli",
                                  "import nsim.cli; nsim.cli.build_parser()"])
def test_command_line_imports_no_heavy_library(code: str) -> None:
    assert _imported_after(code) == set()


def test_command_line_parser_needs_neither_pydantic_nor_lark() -> None:
    """`nsim --help` builds the whole parser; the models and grammars load only when a
    command runs."""
    probe = ("import sys, nsim.cli; nsim.cli.build_parser(); "
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert {"pydantic", "lark"} & set(out.stdout.split()) == set()


def test_public_api_names_load_on_first_use() -> None:
    from nsim.logs.reader import ParseRun
    from nsim.logs.record import Diagnostic, Record
    from nsim.replay.run import ReplayResult

    assert (nsim.ParseRun, nsim.Record, nsim.Diagnostic, nsim.ReplayResult) == (
        ParseRun, Record, Diagnostic, ReplayResult)
    with pytest.raises(AttributeError):
        _ = nsim.no_such_name


def test_api_functions_are_not_shadowed_by_submodules() -> None:
    """Loading nsim.replay.run on first use leaves `nsim.replay` the function."""
    out = subprocess.run([sys.executable, "-c", "import nsim, nsim.replay.run; "
                          "print(callable(nsim.replay), callable(nsim.parse))"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
