"""Where the project's files are: the folder holding metrics.yml and data/.

One place, so a module that moves does not have to count its parents again."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
