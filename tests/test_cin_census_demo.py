"""The demo's CIN census (2022/23 and 2023/24) and allocation history are consistent with the demo
extracts: loaded over them, as of the same day, they change no figure at any level or month, while the
section 47 enquiries and plans are then counted from the census's records instead of given figures."""

from __future__ import annotations

from pathlib import Path

from etl.demo import census, extracts
from etl.ingest.load import load_files
from etl.store.warehouse import reading


def figures(db: Path) -> dict[tuple, tuple]:
    with reading(db) as con:
        rows = con.execute(
            "SELECT metric_id, CAST(period AS VARCHAR), level, org_unit, numerator, denominator FROM kpi_monthly"
        ).fetchall()
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def test_the_demo_census_over_the_demo_extracts_changes_no_figure(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    reports = load_files(extracts.write_demo(tmp_path), as_of=extracts.AS_OF, who="test", db=db)
    assert all(r.ok for r in reports)
    before = figures(db)
    paths = extracts.write_census(tmp_path)
    assert [p.name for p in paths] == [*census.FILES, census.CHILD_TEAMS]
    reports = load_files(paths, as_of=extracts.AS_OF, who="test", db=db)
    assert all(r.ok for r in reports), "\n".join(r.summary() for r in reports)
    after = figures(db)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], changed[:10]
    # The census now gives the conferences and plans of its years: records, not given figures.
    with reading(db) as con:
        [(enquiries, plans)] = con.execute(
            "SELECT (SELECT count(*) FROM s47_enquiries), (SELECT count(*) FROM cp_plans)"
        ).fetchall()
    assert enquiries > 1000 and plans > 1000
    # Written twice, the same bytes.
    again = extracts.write_census(tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in paths]
