"""The levels of the organisation a figure is counted at, from the authority down to a team.

One tuple, in order, for the mart, the queries, the child lists, the notes, the pages and the `cpip` command."""

from __future__ import annotations

LEVELS = ("la", "area", "service", "team")
