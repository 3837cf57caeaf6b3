"""Where the project's files are, in a checkout and in a plain install alike.

- `ROOT`, the working folder whose `data/` holds the warehouse, the inbox and the demo extracts: `$CPIP_HOME`,
  else the checkout this code runs from (the folder with metrics.yml and pyproject.toml), else (an installed
  package, `pip install .`) the current folder.
- `METRICS_FILE` and `REFERENCE_DIR`, the KPI catalogue and DfE's published figures: the working folder's own
  (`metrics.yml`, `data/reference/dfe/`) when it has them, else the copies the package carries (`etl/defaults/`,
  put there when the wheel is built: setup.py), so an install works with no files of its own.

One place, so a module that moves does not have to count its parents again."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
DEFAULTS = PACKAGE / "defaults"
_CHECKOUT = PACKAGE.parent


def _root() -> Path:
    named = os.environ.get("CPIP_HOME", "").strip()
    if named:
        return Path(named).expanduser().resolve()
    if (_CHECKOUT / "metrics.yml").is_file() and (_CHECKOUT / "pyproject.toml").is_file():
        return _CHECKOUT
    return Path.cwd()


def _own_or_default(relative: str) -> Path:
    own = ROOT / relative
    return own if own.exists() or not (DEFAULTS / relative).exists() else DEFAULTS / relative


ROOT = _root()
METRICS_FILE = _own_or_default("metrics.yml")
REFERENCE_DIR = _own_or_default("data/reference/dfe")
