"""A count's thresholds are set for the whole authority: below it, no RAG.

metrics.yml rates missing_episodes at `la` only (green <= 250, amber <= 300 a month).
A team's handful of episodes is not "Green" against 250: it shows its figure and trend,
unrated, as a monitored metric does.
"""

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from kpi_helpers import AUTHORITY, add_records, new_warehouse

from etl.catalogue.metrics import CatalogueError, catalogue, load_catalogue
from etl.serve import queries


@pytest.fixture
def db(tmp_path):
    db = new_warehouse(tmp_path)
    # July 2023: Team A 2 episodes, Team B 1 -> authority 3 (Green: 3 <= 250).
    rows = [
        {"child_id": "C1", "team": "Team A", "episode_id": "E1", "missing_start": datetime(2023, 7, 3, 22, 0)},
        {"child_id": "C2", "team": "Team A", "episode_id": "E2", "missing_start": datetime(2023, 7, 10, 9, 0)},
        {"child_id": "C3", "team": "Team B", "episode_id": "E3", "missing_start": datetime(2023, 7, 31, 23, 59)},
    ]
    add_records(db, "missing_episodes", rows, as_of=datetime(2023, 8, 5).date())
    return db


def _row(frame, metric_id, unit):
    found = frame[(frame["metric_id"] == metric_id) & (frame["org_unit"] == unit)]
    assert len(found) == 1
    return found.iloc[0]


def test_the_catalogue_rates_missing_episodes_for_the_authority_only():
    metric = catalogue().metric("missing_episodes")
    assert metric.rated_levels == ("la",)
    assert metric.rated_at("la") and not metric.rated_at("team") and not metric.rated_at("service")
    assert catalogue().metric("rhi_72h").rated_at("team")


def test_authority_is_rated_and_teams_are_not(db):
    la = _row(queries.scorecard("2023-07", "la", db=db), "missing_episodes", AUTHORITY)
    assert (la["value"], la["rag"], la["target"]) == (3, "Green", 250)
    team = _row(queries.scorecard("2023-07", "team", db=db), "missing_episodes", "Team A")
    assert team["value"] == 2 and team["rag"] == "" and team["target"] != team["target"]  # NaN: no target
    service = _row(queries.scorecard("2023-07", "service", db=db), "missing_episodes", "Assessment and Intervention")
    assert service["value"] == 3 and service["rag"] == ""


def test_breakdown_series_and_team_views_agree(db):
    below = queries.breakdown("missing_episodes", "2023-07", "la", None, db=db)
    assert set(below["rag"]) == {""}
    assert list(queries.series("missing_episodes", "team", "Team A", db=db)["rag"]) == [""]
    assert list(queries.series("missing_episodes", "la", None, db=db)["rag"]) == ["Green"]
    grid = queries.team_grid("2023-07", "la", None, db=db)
    assert set(grid.loc[grid["metric_id"] == "missing_episodes", "rag"]) == {""}
    assert queries.rag_for(catalogue().metric("missing_episodes"), 2, "2023-07", "team") == ""
    assert queries.rag_for(catalogue().metric("missing_episodes"), 280, "2023-07", "la") == "Amber"


def test_an_empty_rated_levels_is_refused(tmp_path):
    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "metrics.yml").read_text(encoding="utf-8"))
    next(m for m in raw["metrics"] if m["metric_id"] == "iha_20wd")["rated_levels"] = []
    path = tmp_path / "metrics.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(CatalogueError, match=r"metric iha_20wd.*rated_levels: give at least one level"):
        load_catalogue(path)
