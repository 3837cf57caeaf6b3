"""The words people read say what they mean (issue 25): the icon matrix counts units, not
cells; a plan's responsible leads are whole titles."""

from __future__ import annotations

import pandas as pd

from dashboard.components.matrix import counts_text
from etl.people.plans import Action
from etl.serve.queries import matrix_counts


def test_the_icon_matrix_counts_services_not_cells():
    # Two KPIs hit and miss in both of two services: 4 cells, but 2 services. One KPI is
    # concerning in one service.
    frame = pd.DataFrame(
        [
            ("seen_5wd", "Family Safeguarding", "", "hit and miss"),
            ("seen_5wd", "Assessment and Intervention", "", "hit and miss"),
            ("iha_20wd", "Family Safeguarding", "special cause concerning", "hit and miss"),
            ("iha_20wd", "Assessment and Intervention", "", "hit and miss"),
        ],
        columns=["metric_id", "org_unit", "variation", "assurance"],
    )
    counts = matrix_counts(frame)
    assert counts["hit and miss"] == (2, 2)
    assert counts_text(counts, "service") == (
        "1 KPI special cause concerning (in 1 service); 0 KPIs consistently failing; "
        "2 KPIs hit and miss (in 2 services)."
    )


def _leads(text: str) -> list[str]:
    return Action("A-1", "area", "action", "", text, None, "on track").leads


def test_a_leads_title_is_never_split_into_fragments():
    assert _leads("Head of Service, Assessment and Intervention") == ["Head of Service, Assessment and Intervention"]
    assert _leads("Head of Service, MASH") == ["Head of Service, MASH"]
    # Two titles joined by "and", or given with a semicolon, are two leads.
    assert _leads("Head of Safeguarding and Head of Practice Improvement") == [
        "Head of Safeguarding",
        "Head of Practice Improvement",
    ]
    assert _leads("Head of Service, MASH; Designated Nurse") == ["Head of Service, MASH", "Designated Nurse"]
