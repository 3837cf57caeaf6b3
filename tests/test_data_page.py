"""The data page without a browser: upload checks, staging, the report
builders, who the user is, and the page's callbacks called as plain functions
against a real warehouse in a temporary folder."""

from __future__ import annotations

import base64
import importlib
import os
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dash_tree import by_id, ids_in, text_of

from dashboard import identity
from dashboard.components import data_report, upload
from etl.ingest.load import load_files, load_findings, load_log
from etl.serve import queries

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # app.py sits at the top of the tree, outside the installed packages
    sys.path.insert(0, str(ROOT))
# Building the app imports (registers) every page; the page module is only importable after it.
app = importlib.import_module("app")
page = importlib.import_module("dashboard.pages.data")

FIXTURES = Path(__file__).parent / "fixtures" / "data_page"
AS_OF = date(2023, 8, 5)
AS_OF_TEXT = AS_OF.isoformat()


def data_url(raw: bytes, kind: str = "text/csv") -> str:
    return f"data:{kind};base64," + base64.b64encode(raw).decode()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse holding the organisation and the base KPI values; uploads staged in tmp."""
    db = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("CPIP_DB", str(db))
    monkeypatch.setenv("CPIP_UPLOAD_DIR", str(tmp_path / "uploads"))
    reports = load_files(
        [FIXTURES / "organisation.csv", FIXTURES / "kpi_values_base.csv"], as_of=AS_OF, who="setup", db=db
    )
    assert [r.outcome for r in reports] == ["loaded", "loaded"]
    return tmp_path


def pathway_plans_july(db: Path | None = None) -> float:
    frame = queries.scorecard("2023-07", "la", None, db=db)
    return float(frame.loc[frame["metric_id"] == "pathway_plans", "value"].iloc[0])


# --- the upload's own checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("extract.xlsx", b"a,b\n1,2\n", "not an Excel workbook (.xlsx), whatever its name"),
        ("notes.txt", b"a,b\n", "not a CSV file"),
        ("empty.csv", b"  \n", "it is empty"),
        ("book.csv", b"PK\x03\x04" + b"\x00" * 20, "an Excel workbook renamed to .csv"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "not text"),
        ("latin.csv", "team\nNorth\nCaf\xe9\n".encode("latin-1"), "not UTF-8 text (an unreadable character on line 3)"),
    ],
)
def test_precheck_refuses_with_a_reason(name: str, raw: bytes, expected: str) -> None:
    assert expected in upload.precheck(name, raw, limit=1000)


def test_precheck_accepts_utf8_csv_with_bom_and_caps_size() -> None:
    raw = "\ufeffchild_id,team\nC1,Caf\u00e9 team\n".encode()
    assert upload.precheck("ok.CSV", raw, limit=1000) is None
    assert (
        upload.precheck("big.csv", b"a" * 1001, limit=1000)
        == "it is 1001 bytes, over the 1000 bytes limit for one file."
    )


def test_size_cap_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPIP_UPLOAD_MAX_MB", raising=False)
    assert upload.max_upload_bytes() == 50 * 1024 * 1024
    monkeypatch.setenv("CPIP_UPLOAD_MAX_MB", "2")
    assert upload.max_upload_bytes() == 2 * 1024 * 1024
    monkeypatch.setenv("CPIP_UPLOAD_MAX_MB", "lots")
    assert upload.max_upload_bytes() == 50 * 1024 * 1024


def test_staging_sanitises_names_and_refuses_foreign_tokens(tmp_path: Path) -> None:
    staged = upload.stage_upload("../../etc/evil.csv", data_url(b"a,b\n1,2\n"), root=tmp_path)
    assert staged.refused is None
    assert staged.name == "evil.csv"
    assert (tmp_path / staged.token / "evil.csv").read_bytes() == b"a,b\n1,2\n"
    assert [p.name for p in tmp_path.iterdir()] == [staged.token]  # nothing written outside the token's folder
    for bad in ("../../etc", "0" * 31, "g" * 32, "", None):
        with pytest.raises(ValueError, match="unknown upload"):
            upload.staged_path(bad, "x.csv", root=tmp_path)
    upload.discard([staged.token, "../.."], root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_upload_is_refused_not_raised(tmp_path: Path) -> None:
    staged = upload.stage_upload("x.csv", "data:text/csv;base64,@@@not-base64", root=tmp_path)
    assert staged.refused == "the upload was damaged on the way (not valid base64); please try again"


def test_sweep_removes_only_old_staged_uploads(tmp_path: Path) -> None:
    old = upload.stage_upload("a.csv", data_url(b"a\n1\n"), root=tmp_path)
    new = upload.stage_upload("b.csv", data_url(b"a\n1\n"), root=tmp_path)
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(tmp_path / old.token, (day_ago, day_ago))
    assert upload.sweep(root=tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == [new.token]


# --- who ------------------------------------------------------------------------------------------


def test_user_from_the_sign_on_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPIP_USER_HEADER", raising=False)
    assert identity.current_user({"X-Remote-User": "jane.smith"}) == "jane.smith"
    assert identity.current_user({"x-remote-user": "DOMAIN\\jsmith"}) == "DOMAIN\\jsmith"
    assert identity.current_user({"X-Remote-User": "<script>x</script>"}) == "scriptxscript"
    monkeypatch.setenv("CPIP_USER_HEADER", "X-Forwarded-User")
    assert identity.current_user({"X-Forwarded-User": "a.n.other@council.gov.uk"}) == "a.n.other@council.gov.uk"
    # The default header is no longer trusted once another is configured.
    assert identity.current_user({"X-Remote-User": "jane.smith"}) == identity.os_user()


def test_user_falls_back_to_the_operating_system_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "someone")
    assert identity.current_user({}) == identity.os_user()
    assert identity.current_user() == identity.os_user()  # no request at all
    assert identity.current_user({"X-Remote-User": "   "}) == identity.os_user()


def test_user_inside_a_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CPIP_USER_HEADER", raising=False)
    with app.server.test_request_context("/", headers={"X-Remote-User": "k.jones"}):
        assert identity.current_user() == "k.jones"


# --- report builders ------------------------------------------------------------------------------


def test_period_text() -> None:
    assert data_report.period_text("2023-04", "2023-07") == "Apr 2023 to Jul 2023"
    assert data_report.period_text("2023-07", "2023-07") == "Jul 2023"
    assert data_report.period_text(None, None) == "–"


def test_history_offers_undo_only_for_loads_that_changed_something() -> None:
    log = pd.DataFrame(
        [
            {
                "load_id": 1,
                "loaded_at": pd.Timestamp("2023-08-05 09:10"),
                "loaded_by": "ann",
                "file_name": "a.csv",
                "content_hash": "ab" * 32,
                "extract_type": "assessments",
                "rows_added": 10,
                "rows_replaced": 0,
                "rows_rejected": 0,
                "outcome": "loaded",
                "undone_at": None,
                "undone_by": None,
            },
            {
                "load_id": 2,
                "loaded_at": pd.Timestamp("2023-08-06 10:00"),
                "loaded_by": "bob",
                "file_name": "b.csv",
                "content_hash": "cd" * 32,
                "extract_type": "assessments",
                "rows_added": 0,
                "rows_replaced": 0,
                "rows_rejected": 3,
                "outcome": "refused",
                "undone_at": None,
                "undone_by": None,
            },
            {
                "load_id": 3,
                "loaded_at": pd.Timestamp("2023-08-07 11:00"),
                "loaded_by": "cy",
                "file_name": "c.csv",
                "content_hash": "ef" * 32,
                "extract_type": "referrals",
                "rows_added": 5,
                "rows_replaced": 2,
                "rows_rejected": 1,
                "outcome": "loaded valid rows only",
                "undone_at": None,
                "undone_by": None,
            },
        ]
    )
    table = data_report.history_table(log)
    ids = ids_in(table)
    assert {"type": "data-undo", "index": 1} in ids
    assert {"type": "data-undo", "index": 3} in ids
    assert {"type": "data-undo", "index": 2} not in ids
    assert {"type": "data-findings", "index": 2} in ids  # rejected rows can be read
    text = text_of(table)
    assert "05 Aug 2023 09:10" in text and "abababababab" in text and "loaded valid rows only" in text


# --- the page's callbacks, on a real warehouse -------------------------------------------------------


def _incoming(*paths: Path, names: list[str] | None = None) -> list[dict]:
    names = names or [p.name for p in paths]
    return [
        {"name": n, "contents": data_url(p.read_bytes()), "refused": None} for p, n in zip(paths, names, strict=True)
    ]


def test_a_workbook_is_checked_and_loaded_list_by_list(env: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Front_Sheet"
    book.active.append(["Annex A"])
    lists = book.create_sheet("List 9")
    lists.append(["Child Unique ID", "Date of Birth", "Allocated Team", "Latest Pathway Plan Review Date"])
    lists.append(["L1", date(2004, 1, 1), "Central Leaving Care 1", date(2023, 7, 3)])
    lists.append(["L2", date(2004, 1, 1), "Central Leaving Care 1", date(2022, 7, 3)])
    bad = book.create_sheet("List 3")
    bad.append(["Child Unique ID", "Date of Referral", "Allocated Team"])
    bad.append(["R1", "31/02/2023", "North A&I 1"])
    path = env / "Annex_A.xlsx"
    book.save(path)
    incoming = [{"name": path.name, "contents": data_url(path.read_bytes(), "application/vnd.ms-excel")}]
    staged, _, _ = page.save_uploads(incoming)
    previews = page.check_staged(staged, as_of=date(2023, 7, 31))
    assert [(p["file_name"], data_report.file_status(p)) for p in previews] == [
        ("Annex_A.xlsx, sheet 'Front_Sheet'", "skipped"),
        ("Annex_A.xlsx, sheet 'List 9'", "ready"),
        ("Annex_A.xlsx, sheet 'List 3'", "refused"),
    ]
    cards, *_ = page.show_previews(previews, [])
    text = text_of(cards)
    assert "Read as" in text and "Annex A List 9 (care leavers)" in text and "Date of Birth" in text
    assert "Skipped, not an error" in text
    assert "line 2" in text or "31/02/2023" in text
    # A workbook loads whole or not at all: with List 3 refused, List 9 waits for the explicit choice.
    _, options, _, _, disabled, label = page.show_previews(previews, [])
    [option] = options
    assert option["label"].startswith("Load the good lists and valid rows only of Annex_A.xlsx")
    assert (disabled, label) == (True, "Load")
    done, _lines, _left = page.load_checked(previews, [option["value"]], as_of=date(2023, 7, 31), who="k.jones")
    assert {d["file_name"]: d["outcome"] for d in done} == {
        "Annex_A.xlsx, sheet 'Front_Sheet'": "skipped",
        "Annex_A.xlsx, sheet 'List 9'": "loaded",
        "Annex_A.xlsx, sheet 'List 3'": "refused",
    }
    # Records win over the base kpi_values for July: 1 of the 2 care leavers has a plan reviewed within 6 months.
    assert pathway_plans_july() == 50.0


def test_upload_check_load_and_undo_as_plain_functions(env: Path) -> None:
    assert pathway_plans_july() == 86.0  # 86 of 100, from the base load

    # A file with errors: the report names its lines, and it cannot be loaded as it is.
    staged, cleared, status = page.save_uploads(_incoming(FIXTURES / "with_errors" / "pathway_plans_july.csv"))
    assert cleared is None and status == "Received 1 file; checking…"
    previews = page.check_staged(staged, as_of=AS_OF)
    (first,) = previews
    assert data_report.file_status(first) == "errors"
    assert (first["extract_type"], first["rows_read"], first["rejected"]) == ("kpi_values", 3, 2)
    assert (first["first_period"], first["last_period"]) == ("2023-07", "2023-07")
    errors = data_report.errors_of(first)
    assert [(e["line"], e["column"]) for e in errors] == [(3, "numerator"), (4, "metric_id")]
    cards, options, _value, _style, disabled, label = page.show_previews(previews, [])
    assert "3 numerator 60" in text_of(cards) and "pathway_plan" in text_of(cards)
    assert disabled is True and label == "Load"  # nothing loads without the explicit choice
    assert [o["value"] for o in options] == [first["token"]]
    assert "1 row loaded, 2 rows rejected" in options[0]["label"]

    # The corrected file, same name, replaces the one waiting.
    staged2, _, _ = page.save_uploads(_incoming(FIXTURES / "pathway_plans_july.csv"))
    new = page.check_staged(staged2, as_of=AS_OF)
    waiting, dropped = page.merge_previews(previews, new)
    assert dropped == [first["token"]] and len(waiting) == 1
    (ready,) = waiting
    assert data_report.file_status(ready) == "ready"
    # 93/100 for the authority replaces 86/100; 45/50 for Central Leaving Care 1 is new.
    assert (ready["rows_read"], ready["added"], ready["replaced"], ready["unchanged"]) == (2, 1, 1, 0)
    _, _, _, _, disabled, label = page.show_previews(waiting, [])
    assert disabled is False and label == "Load 1 file"
    assert pathway_plans_july() == 86.0  # still nothing stored

    # Load: the new figure is there, by the person who loaded it.
    done, _lines, left = page.load_checked(waiting, [], as_of=AS_OF, who="k.jones")
    assert left == [] and [d["outcome"] for d in done] == ["loaded"]
    assert pathway_plans_july() == 93.0
    log = load_log()
    last = log.iloc[-1]
    assert (last["file_name"], last["loaded_by"], last["rows_added"], last["rows_replaced"]) == (
        "pathway_plans_july.csv",
        "k.jones",
        1,
        1,
    )
    assert not (env / "uploads" / ready["token"]).exists()  # the staged copy is gone

    # Undo after confirmation: the replaced record is back.
    is_open, alert, _refresh = page.confirm_undo(1, int(last["load_id"]))
    assert is_open is False
    assert "undone" in text_of(alert)
    assert pathway_plans_july() == 86.0


def test_valid_rows_only_is_an_explicit_choice_and_keeps_the_rejected_rows(env: Path) -> None:
    staged, _, _ = page.save_uploads(_incoming(FIXTURES / "with_errors" / "pathway_plans_july.csv"))
    previews = page.check_staged(staged, as_of=AS_OF)
    # Without the choice, Load loads nothing and the file keeps waiting.
    done, _, left = page.load_checked(previews, [], as_of=AS_OF, who="k.jones")
    assert done == [] and len(left) == 1
    # With it, the one good row loads and the two rejected rows are in the load log with their reasons.
    done, _, left = page.load_checked(previews, [previews[0]["token"]], as_of=AS_OF, who="k.jones")
    assert [d["outcome"] for d in done] == ["loaded valid rows only"] and left == []
    assert pathway_plans_july() == 93.0
    findings = load_findings(done[0]["load_id"])
    assert list(findings["line"]) == [3, 4]
    assert list(findings["column_name"]) == ["numerator", "metric_id"]


def test_refused_files_get_a_message_never_a_traceback(env: Path) -> None:
    incoming = [
        {"name": "notes.txt", "contents": None, "refused": "it is not a CSV file."},
        {"name": "ragged.csv", "contents": data_url(b'period,metric_id\n"2023-07,x\n'), "refused": None},
        {"name": "binary.csv", "contents": data_url(b"\x00\x01\x02" * 10), "refused": None},
        {"name": "unknown.csv", "contents": data_url(b"colour,shape\nred,round\n"), "refused": None},
    ]
    staged, _, _ = page.save_uploads(incoming)
    previews = page.check_staged(staged, as_of=AS_OF)
    assert [data_report.file_status(p) for p in previews] == ["refused"] * 4
    cards, options, _, _, disabled, _ = page.show_previews(previews, [])
    text = text_of(cards)
    assert "notes.txt" in text and "it is not a CSV file." in text
    assert "binary.csv" in text and "not text" in text
    assert "Traceback" not in text
    assert options == [] and disabled is True


def test_checking_reports_progress(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(page, "TICK", 0.05)
    real_preview = page._preview

    def slow_preview(*args, **kwargs):  # a large file: reading takes a while
        time.sleep(0.3)
        return real_preview(*args, **kwargs)

    monkeypatch.setattr(page, "_preview", slow_preview)
    staged, _, _ = page.save_uploads(_incoming(FIXTURES / "organisation.csv", FIXTURES / "pathway_plans_july.csv"))
    seen: list[tuple[int, str]] = []
    previews = page.check_staged(staged, as_of=AS_OF, set_progress=seen.append)
    assert [p["file_name"] for p in previews] == ["organisation.csv", "pathway_plans_july.csv"]
    values = [v for v, _ in seen]
    assert values == sorted(values)  # never goes backwards
    assert values[0] == 0 and values[-1] == 100
    assert 50 in values  # the first file done: half way
    assert seen[0][1] == "Reading and checking organisation.csv (204 bytes), file 1 of 2"
    labels = [label for _, label in seen]
    assert any(label.startswith("Reading and checking organisation.csv (204 bytes), file 1 of 2: ") for label in labels)
    assert any(label.startswith("Reading and checking pathway_plans_july.csv") for label in labels)


def test_cancel_discards_the_staged_files(env: Path) -> None:
    staged, _, _ = page.save_uploads(_incoming(FIXTURES / "pathway_plans_july.csv"))
    previews = page.check_staged(staged, as_of=AS_OF)
    token = previews[0]["token"]
    assert (env / "uploads" / token).exists()
    waiting, status, _result = page.cancel_clicked(1, previews)
    assert waiting == [] and "nothing was stored" in status
    assert not (env / "uploads" / token).exists()
    assert pathway_plans_july() == 86.0


def test_history_and_freshness_callbacks(env: Path) -> None:
    history = page.show_history(0)
    text = text_of(history)
    assert "organisation.csv" in text and "kpi_values_base.csv" in text and "setup" in text
    fresh = text_of(page.show_freshness(0))
    # kpi_values: latest month July 2023, from the load taken on 5 August 2023.
    assert "Care leavers with an up-to-date pathway plan Jul 2023 05 Aug 2023 kpi_values" in fresh


def test_the_page_opens_whole_with_no_callback_to_wait_for(env: Path) -> None:
    # The history, freshness, unknown teams and access log are in the layout itself (one response, not ten).
    layout = page.layout()
    assert "kpi_values_base.csv" in text_of(by_id(layout, "data-history"))
    fresh = text_of(by_id(layout, "data-freshness"))
    assert "Care leavers with an up-to-date pathway plan Jul 2023 05 Aug 2023 kpi_values" in fresh
    assert text_of(by_id(layout, "data-map-form")) == "None: every team the checked files name is in the reference."
    assert text_of(by_id(layout, "data-access-log")) == "No child list has been viewed yet."


def test_an_ssda903_returns_tables_uploaded_together_are_checked_and_loaded_as_one(env: Path) -> None:
    from ssda903_files import write_csvs

    # One child, in care from 1 April 2024 with two moves: at 30 September 2024, 3 placements of 1.
    tables = {
        "Header": [{"CHILD": "c1", "DOB": "01/01/2012"}],
        "Episodes": [
            {"CHILD": "c1", "DECOM": "01/04/2024", "RNE": "S", "LS": "C2", "PLACE": "U4", "DEC": "01/06/2024",
             "REC": "X1"},
            {"CHILD": "c1", "DECOM": "01/06/2024", "RNE": "P", "LS": "C2", "PLACE": "U5", "DEC": "01/09/2024",
             "REC": "X1"},
            {"CHILD": "c1", "DECOM": "01/09/2024", "RNE": "P", "LS": "C2", "PLACE": "K2"},
        ],
    }  # fmt: skip
    paths = write_csvs(env / "903", tables)
    staged, _, _ = page.save_uploads(_incoming(*paths))
    as_of = date(2024, 10, 15)  # no collection year given on the page: the as-of date's, 2024/25
    previews = page.check_staged(staged, as_of=as_of)
    assert [(p["extract_type"], data_report.file_status(p)) for p in previews] == [("ssda903", "ready")]
    done, _lines, _left = page.load_checked(previews, [], as_of=as_of, who="k.jones")
    assert [(d["extract_type"], d["outcome"]) for d in done] == [("ssda903", "loaded")]
    log = load_log()
    assert list(log["extract_type"])[-1] == "ssda903"
