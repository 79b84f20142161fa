"""Reading a TOML file into a pydantic model, with errors that name the file and each field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def problems(exc: ValidationError, whole: str = "file") -> str:
    """pydantic's errors as `field.path: message; ...`."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or whole}: "
                     f"{err['msg'].removeprefix('Value error, ')}" for err in exc.errors())


def read_toml(path: str | Path, error: type[ValueError]) -> dict[str, object]:
    """The table in `path`; `error` (naming the file) when it cannot be read as TOML."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def validate(model: type[M], data: dict[str, object], source: str, error: type[ValueError],
             whole: str = "file") -> M:
    """`data` as `model`; `error` naming `source` and each bad field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{source}: {problems(exc, whole)}") from None
