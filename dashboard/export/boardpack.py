"""The monthly board pack: the CPIP scorecard for one month and org unit, as PDF
(for the Performance Assurance and Action Board) or Excel (for analysts).

    build_boardpack("2023-07", level="la", unit=None, out=Path("pack.pdf"))

Numbers come only from `etl.serve.queries` (the pack never counts or rates a KPI
itself); `collect` gathers them once into a `BoardPack`, and `pdf`/`excel`
lay it out, so the two files always agree. Charts are the dashboard's own
charts are drawn as SVG directly (see `svg`), so no browser is started.
"""

from __future__ import annotations

import importlib
import logging
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from dashboard.components.comparators import comparator_note, england_by_period
from dashboard.export import look, svg
from dashboard.export.model import (
    MONITORED,
    AuditTable,
    BoardPack,
    BreakdownRow,
    ExceptionPage,
    PlanPage,
    ScoreRow,
)
from etl.catalogue.contract import EXTRACT_TYPES, match_name
from etl.catalogue.levels import LEVELS
from etl.catalogue.metrics import catalogue
from etl.people import notes as notes_store
from etl.people import plans as action_plans
from etl.rules.calendar import add_months, months_between, parse_period
from etl.rules.kpis import caveat_lines
from etl.serve import queries
from etl.store import authority as authorities

log = logging.getLogger(__name__)

LEVEL_NAMES = {"la": "authority", "area": "area", "service": "service", "team": "team"}
SUFFIXES = (".pdf", ".xlsx")
TREND_MONTHS = 24  # months of history on an exception page's trend chart
RECENT_MONTHS = 6  # months listed beside the trend when there is no breakdown (a team's pack)
DATA_MONTHS = 12  # months on the Excel Data sheet, ending with the pack's month
AUDIT_QUARTERS = 4  # complete quarters in the audit table, most recent first
AUDIT_CHART_MONTHS = 12  # months of moderated grades in the chart under the audit table
_PERIOD = re.compile(r"^\d{4}-\d{2}$")
_POLARITY_WORDS = {
    "higher_is_better": "higher is better",
    "lower_is_better": "lower is better",
    "monitored": "monitored (not rated)",
}


class BoardPackError(ValueError):
    """A request for a pack that cannot be met; the message says why, in one sentence."""


# --- the request -----------------------------------------------------------------


def _shown(text: str) -> str:
    """A user's text quoted back in a message: trimmed to a readable length."""
    text = str(text)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def check_request(
    period: str | None, level: str | None = "la", unit: str | None = None, *, db: queries.Db = None
) -> tuple[str, str, str | None]:
    """Validate a pack request; returns (period, level, unit) or raises BoardPackError.

    A missing period means the latest month with data; a missing level the
    authority as a whole. Below the authority a unit is needed and must be in
    the organisation reference."""
    level = (level or "la").strip()
    if level not in LEVELS:
        raise BoardPackError(f"level {_shown(level)} is not one of {', '.join(LEVELS)}.")
    held = queries.periods(db)
    if not held:
        raise BoardPackError("The warehouse holds no KPI data yet: load the extracts first.")
    period = (period or "").strip() or held[-1]
    if not _PERIOD.match(period):
        raise BoardPackError(f"period {_shown(period)} is not a month like 2023-07.")
    try:
        parse_period(period)
    except ValueError:
        raise BoardPackError(f"period {_shown(period)} is not a month like 2023-07.") from None
    if period not in held:
        raise BoardPackError(f"There is no KPI data for {period}: the warehouse holds {held[0]} to {held[-1]}.")
    unit = (unit or "").strip() or None
    authority = authorities.current().name
    if level == "la":
        if unit not in (None, authority):
            raise BoardPackError(f"level la is the authority as a whole: leave out unit ({_shown(unit)} given).")
        return period, level, None
    if unit is None:
        raise BoardPackError(f"Name the {level} with unit=... (or choose level la for the whole authority).")
    matched = match_name(unit, queries.units_at(level, db))
    if matched is None:
        article = "an" if level[0] in "aeiou" else "a"
        raise BoardPackError(f"{_shown(unit)} is not {article} {level} in the organisation reference.")
    return period, level, matched


# --- gathering ---------------------------------------------------------------------


def _num(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _scope_label(level: str, unit: str | None) -> str:
    return "Whole authority" if level == "la" else f"{level.capitalize()}: {unit}"


def _score_rows(frame: pd.DataFrame) -> list[ScoreRow]:
    cat = catalogue()
    rows = []
    for r in frame.itertuples(index=False):
        metric = cat.metric(r.metric_id)
        value, previous = _num(r.value), _num(r.previous_value)
        numerator, denominator = _num(r.numerator), _num(r.denominator)
        rows.append(
            ScoreRow(
                metric_id=r.metric_id,
                name=metric.name,
                area=metric.area,
                unit=metric.unit,
                polarity=_POLARITY_WORDS.get(str(metric.polarity), str(metric.polarity)),
                value=value,
                numerator=numerator,
                denominator=denominator,
                target=_num(r.target),
                previous=previous,
                rag=r.rag or MONITORED,
                direction=r.direction or "",
                owner=metric.owner,
                definition=metric.rule,
                value_text=look.format_value(value, metric.unit),
                fraction_text=look.format_fraction(numerator, denominator, metric.unit),
                target_text=look.format_target(_num(r.target), metric.unit),
                previous_text=look.format_value(previous, metric.unit),
                variation=r.variation or None,
                assurance=r.assurance or None,
                variation_icon=getattr(r, "variation_icon", None) or None,
                spc_note=getattr(r, "spc_note", "") or "",
                sparkline=tuple(_num(v) for v in (r.sparkline or ())),
                benchmark_year=int(r.benchmark_year) if _num(r.benchmark_year) is not None else None,
                published=_num(r.published),
                england=_num(r.england),
                region=_num(r.region),
                sn_median=_num(r.sn_median),
                quartile=r.quartile or "",
                published_text=_comparator_text(r.published, metric.unit),
                england_text=_comparator_text(r.england, metric.unit),
                sn_text=_comparator_text(r.sn_median, metric.unit),
            )
        )
    return rows


def _comparator_text(value: object, unit: str) -> str:
    return look.format_value(_num(value), unit) if _num(value) is not None else "–"


def _benchmarks(row: pd.Series) -> dict[str, float]:
    """The latest published comparators beside a KPI, for its trend chart."""
    year = row.get("benchmark_year")
    suffix = f" ({int(year)})" if _num(year) is not None else ""
    found = {
        "England" + suffix: _num(row.get("england")),
        "Statistical neighbours" + suffix: _num(row.get("sn_median")),
    }
    return {k: v for k, v in found.items() if v is not None}


def _england_line(metric_id: str, periods: list[str], db: queries.Db) -> dict[str, list[float | None]]:
    """England's published figure of each month's year, for an exception page's trend chart."""
    if not catalogue().metric(metric_id).benchmark:
        return {}
    return {"England (published, each year)": england_by_period(periods, queries.england_by_year(metric_id, db=db))}


def _plan_pages(rows: list[ScoreRow], period: str, db: queries.Db) -> tuple[date, list[PlanPage]]:
    """A page per improvement area with actions: its KPIs, its actions due in
    the pack's month or overdue, judged at the end of the pack's month (July's pack
    does not call an action due in January overdue because the data now reaches April)."""
    on, sections = action_plans.plan_sections(on=_month_end(period), db=db)
    by_id = {r.metric_id: r for r in rows}
    pages = []
    for s in sections:
        if not s.actions:
            continue  # a plan with no actions loaded yet: nothing to scrutinise
        wanted = [a for a in s.actions if a.due_in(period) or a.state(on) == action_plans.OVERDUE]
        pages.append(
            PlanPage(
                area=s.area, meaning=s.meaning, owner=s.owner,
                rows=[by_id[m] for m in s.metric_ids if m in by_id],
                actions=wanted, states={a.action_id: a.state(on) for a in wanted},
                total=len(s.actions), overdue=s.overdue,
            )
        )  # fmt: skip
    return on, pages


def _exception(
    row: ScoreRow, scorecard_row: pd.Series, period: str, level: str, unit: str | None, db: queries.Db
) -> ExceptionPage:
    """An exception page's data and its charts (SVG drawn here: no browser)."""
    metric = catalogue().metric(row.metric_id)
    first = add_months(period, -(TREND_MONTHS - 1))
    trend = queries.series(row.metric_id, level, unit, db=db)
    trend = trend[(trend["period"] >= first) & (trend["period"] <= period)].reset_index(drop=True)
    spread = queries.breakdown(row.metric_id, period, level, unit, db=db)
    child = queries.CHILD_LEVEL.get(level, "team")
    page = ExceptionPage(
        row=row,
        breakdown_label=child,
        breakdown=[
            BreakdownRow(
                unit=b.org_unit,
                value_text=look.format_value(_num(b.value), metric.unit),
                fraction_text=look.format_fraction(_num(b.numerator), _num(b.denominator), metric.unit),
                rag=b.rag or MONITORED,
            )
            for b in spread.itertuples(index=False)
        ],
        source=EXTRACT_TYPES[metric.source].source_words if metric.source in EXTRACT_TYPES else metric.source,
        recent=[
            BreakdownRow(
                unit=look.long_month_label(t.period),
                value_text=look.format_value(_num(t.value), metric.unit),
                fraction_text=look.format_fraction(_num(t.numerator), _num(t.denominator), metric.unit),
                rag=t.rag or MONITORED,
            )
            for t in trend.tail(RECENT_MONTHS).iloc[::-1].itertuples(index=False)
        ],
    )
    if not trend.empty:
        first_day = parse_period(str(trend["period"].iloc[0])[:7])
        page.events = [
            e for e in notes_store.events_for(row.metric_id, db=db) if first_day <= e.event_date <= _month_end(period)
        ]
        shown_from = str(trend["period"].iloc[0])[:7]
        page.rebases = [(r.period, r.reason) for r in metric.rebase if shown_from < r.period <= period]
    marks = [(e.event_date, e.label) for e in page.events]
    page.trend_image = svg.trend_svg(trend, metric, period, benchmarks=_benchmarks(scorecard_row), events=marks)
    if not spread.empty:
        page.breakdown_image = svg.breakdown_svg(spread, metric, period)
    return page


def _month_end(period: str) -> date:
    return parse_period(add_months(period, 1)) - pd.Timedelta(days=1).to_pytimedelta()


def _as_of(db: queries.Db) -> tuple[date | None, list[str]]:
    """The as-of date of the data (the latest load in force), and a note when
    the extracts were taken on different days."""
    fresh = queries.freshness(db)
    extracts = fresh[(fresh["kind"] == "extract") & (fresh["name"] != "organisation") & fresh["as_of"].notna()]
    if extracts.empty:
        return None, []
    dates = sorted(set(extracts["as_of"]))
    if len(dates) == 1:
        return dates[0], []
    detail = "; ".join(f"{r.name} {r.as_of:%-d %b %Y}" for r in extracts.sort_values("name").itertuples())
    return dates[-1], [f"The extracts were taken on different days: {detail}."]


def _audit_label(period: str) -> str:
    return parse_period(period).strftime("%B %y")


def _pct(value: object) -> str:
    v = _num(value)
    return "–" if v is None else f"{v:.0f}%"


def _audit_row(label: str, r: object, *, quarter: bool) -> dict:
    return {
        "label": label,
        "quarter": quarter,
        "total": f"{int(r.audits):,}",
        "moderated": f"{int(r.moderated):,}",
        "Outstanding": _pct(r.outstanding_pct),
        "Good": _pct(r.good_pct),
        "Requires Improvement": _pct(r.requires_improvement_pct),
        "Inadequate": _pct(r.inadequate_pct),
    }


def _quarter_label(period: str) -> str:
    """2023-07 -> "2023/24 Q2", as etl.serve.queries.audit_grades labels quarters."""
    d = parse_period(period)
    start = d.year if d.month >= 4 else d.year - 1
    return f"{start}/{(start + 1) % 100:02d} Q{(d.month - 4) % 12 // 3 + 1}"


def _audits(period: str, level: str, unit: str | None, db: queries.Db) -> AuditTable:
    """The seed report's form: this quarter's months up to the pack's month, then
    the complete quarters, most recent first. A quarter still running is not
    totalled: its total would count audits after the pack's month."""
    scope = {level: unit} if level != "la" else {}
    months = queries.audit_grades("month", db=db, **scope)
    quarters = queries.audit_grades("quarter", db=db, **scope)
    this_quarter = _quarter_label(period)
    q_months = [m for m in months_between(add_months(period, -2), period) if _quarter_label(m) == this_quarter]
    rows = [_audit_row(_audit_label(r.period), r, quarter=False) for r in months.itertuples() if r.period in q_months]
    complete = _quarter_label(add_months(period, 1)) != this_quarter  # the pack's month ends its quarter
    wanted = [this_quarter] if complete else []
    step = period
    while len(wanted) < AUDIT_QUARTERS:
        step = add_months(step, -3)
        label = _quarter_label(step)
        if label not in wanted:
            wanted.append(label)
    by_label = {r.period: r for r in quarters.itertuples()}
    for label in wanted:
        if label in by_label:
            year, q = label.split(" ")
            rows.append(_audit_row(f"{q} {year} total", by_label[label], quarter=True))
    note = "" if complete else f"{this_quarter.split(' ')[1]} {this_quarter.split(' ')[0]} is totalled once complete."
    recent = months[(months["period"] > add_months(period, -AUDIT_CHART_MONTHS)) & (months["period"] <= period)]
    return AuditTable(rows=rows, note=note, months=recent.reset_index(drop=True))


def _data_sheet(period: str, level: str, unit: str | None, db: queries.Db) -> pd.DataFrame:
    """Every KPI by org unit by month (the DATA_MONTHS months ending with the
    pack's month) for the pack's unit and every unit below it. Teams come from
    etl.serve.queries.team_matrix (one call a KPI); the authority, areas and services
    from etl.serve.queries.scorecard, month by month (a few units each)."""
    months = months_between(add_months(period, -(DATA_MONTHS - 1)), period)
    columns = ["metric_id", "period", "level", "org_unit", "numerator", "denominator", "value", "rag"]
    names = {m.metric_id: m.name for m in catalogue().metrics}
    if level == "la":
        scopes = [("la", None), ("area", None), ("service", None)]
    elif level == "team":
        scopes = []
    else:
        scopes = [(level, unit)]

    def units_above_teams(job: tuple[str, str, str | None]) -> pd.DataFrame:
        month, lvl, u = job
        return queries.scorecard(month, lvl, u, db=db)[columns]

    def teams(metric_id: str) -> pd.DataFrame:
        frame = queries.team_matrix(metric_id, level, unit, period, months=DATA_MONTHS, db=db)
        return frame.rename(columns={"team": "org_unit"}).assign(metric_id=metric_id, level="team")[columns]

    # DuckDB releases the GIL while it works: a few threads overlap the calls.
    with ThreadPoolExecutor(max_workers=3) as pool:
        frames = list(pool.map(units_above_teams, [(m, lv, u) for m in months for lv, u in scopes]))
        frames += list(pool.map(teams, names))
    data = pd.concat(frames, ignore_index=True)
    data = data[data["numerator"].notna() | data["denominator"].notna()]
    order = {m: i for i, m in enumerate(names)}
    level_order = {lv: i for i, lv in enumerate(LEVELS)}
    data = data.assign(
        kpi=data["metric_id"].map(names),
        _m=data["metric_id"].map(order),
        _l=data["level"].map(level_order),
    ).sort_values(["_m", "_l", "org_unit", "period"], kind="stable")
    return data[["kpi", *columns]].reset_index(drop=True)


def _definitions(period: str) -> pd.DataFrame:
    rows = []
    for m in catalogue().metrics:
        t = m.thresholds_for(period)
        rows.append(
            {
                "metric_id": m.metric_id,
                "kpi": m.name,
                "area": m.area,
                "unit": m.unit,
                "polarity": _POLARITY_WORDS.get(str(m.polarity), str(m.polarity)),
                "definition": m.rule,
                "owner": m.owner,
                "source": m.source,
                "target": t.target if t else None,
                "green": t.green if t else None,
                "amber": t.amber if t else None,
                "benchmark": m.benchmark or "",
            }
        )
    return pd.DataFrame(rows)


def collect(
    period: str, level: str = "la", unit: str | None = None, *, db: queries.Db = None, kind: str = "pdf"
) -> BoardPack:
    """Everything a pack shows, from etl.serve.queries. `kind` "pdf" draws the exception
    charts; "xlsx" gathers the Data sheet instead; anything else neither."""
    if kind == "pdf":
        # WeasyPrint (and Pango) load meanwhile, while this thread mostly waits on queries and charts.
        threading.Thread(target=importlib.import_module, args=("weasyprint",), daemon=True).start()
    cat = catalogue()
    frame = queries.scorecard(period, level, unit, db=db)
    rows = _score_rows(frame)
    audits = _audits(period, level, unit, db)
    as_of, notes = _as_of(db)
    notes = notes + caveat_lines(period, db)  # figures that may be incomplete (docs/spec/windows.md)
    pack = BoardPack(
        authority=authorities.current().name,
        period=period,
        period_label=look.long_month_label(period),
        level=level,
        unit=unit or authorities.current().name,
        scope_label=_scope_label(level, unit),
        as_of=as_of,
        generated_at=datetime.now().replace(microsecond=0),
        rows=rows,
        areas=list(cat.areas),
        exceptions=[],
        audits=audits,
        data=pd.DataFrame(),
        definitions=_definitions(period),
        # Making Data Count: the icons, or the reason a row has none (too few points
        # since the rebase), as the dashboard's scorecard shows them.
        show_spc=any(r.variation or r.assurance or r.spc_note for r in rows),
        notes=notes,
        row_notes=notes_store.notes_by_metric(period, level, unit, db=db),
        # What is changing across the authority's services, at a glance (Making Data Count).
        matrix=queries.icon_matrix(period, "la", db=db) if level == "la" else pd.DataFrame(),
        comparator_note=comparator_note(queries.reference_authority(db), authorities.current().name),
    )
    pack.plans_judged_on, pack.plans = _plan_pages(rows, period, db)
    if kind == "pdf":
        by_id = frame.set_index("metric_id")
        plan_actions = sorted(action_plans.actions(db=db), key=lambda a: (a.due_date or date.max, a.action_id))
        for row in rows:
            if row.rag == "Red":
                page = _exception(row, by_id.loc[row.metric_id], period, level, unit, db)
                page.note = pack.row_notes.get(row.metric_id)
                page.actions = [a for a in plan_actions if row.metric_id in a.metrics]
                page.states = {a.action_id: a.state(pack.plans_judged_on) for a in page.actions}
                pack.exceptions.append(page)
        if not pack.audits.months.empty:
            pack.audits.image = svg.audit_svg(pack.audits.months)
    elif kind == "xlsx":
        pack.data = _data_sheet(period, level, unit, db)
    return pack


def build_boardpack(
    period: str, level: str = "la", unit: str | None = None, *, out: Path, db: queries.Db = None
) -> Path:
    """Write the pack for one month and org unit to `out`; its suffix (.pdf or
    .xlsx) chooses the format. Raises BoardPackError (a ValueError) with one
    readable sentence when the request cannot be met."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise BoardPackError(f"{out.name}: the board pack is written as .pdf or .xlsx.")
    period, level, unit = check_request(period, level, unit, db=db)
    pack = collect(period, level, unit, db=db, kind=suffix[1:])
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        from dashboard.export.pdf import write_pdf

        return write_pdf(pack, out)
    from dashboard.export.excel import write_xlsx

    return write_xlsx(pack, out)
