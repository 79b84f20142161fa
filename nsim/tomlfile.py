"""Reading a TOML file into a pydantic model, with errors that name the file and each field."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def problems(exc: ValidationError, whole: str = "file") -> str:
    """pydantic's errors as `field.path: message; ...`."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or whole}: "
                     f"{err['msg'].removeprefix('Value error, ')}" for err in exc.errors())


MAX_TOML_BYTES = 16 * 1024 * 1024
"""A scenario or host configuration larger than this is refused (no real one comes close)."""


def read_toml(path: str | Path, error: type[ValueError]) -> dict[str, object]:
    """The table in `path`; `error` (naming the file) when it cannot be read as TOML.

    Only a regular file is read (a FIFO or a device may never end), at most MAX_TOML_BYTES."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise error(f"{path}: is a directory")
        if not stat.S_ISREG(mode):  # checked before opening: opening a FIFO waits for a writer
            raise error(f"{path}: not a regular file")
        with open(path, "rb") as f:
            data = f.read(MAX_TOML_BYTES + 1)
        if len(data) > MAX_TOML_BYTES:
            raise error(f"{path}: larger than {MAX_TOML_BYTES // (1024 * 1024)} MiB")
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{path}: not valid TOML: nested too deeply") from None


def validate(model: type[M], data: dict[str, object], source: str, error: type[ValueError],
             whole: str = "file") -> M:
    """`data` as `model`; `error` naming `source` and each bad field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{source}: {problems(exc, whole)}") from None
