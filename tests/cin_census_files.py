"""Hand-made CIN census XML for the tests: a child is a dict of its episodes, written the way DfE's
layout has it (tests/test_cin_census*.py). Nothing of the product is used to write them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass
class Episode:
    referral: date
    closure: date | None = None
    nfa: str = "false"
    assessments: list[tuple[date, date | None]] = field(default_factory=list)
    s47: list[tuple[date, date | None, str]] = field(default_factory=list)  # start, ICPC, ICPCnotRequired
    plans: list[tuple[date, date | None, int]] = field(default_factory=list)  # start, end, previous plans


def _d(day: date | None) -> str:
    return day.isoformat() if day else ""


def _opt(tag: str, value: object | None, indent: str) -> str:
    return "" if value is None else f"{indent}<{tag}>{value}</{tag}>\n"


def census_xml(reference: date, children: dict[str, list[Episode]], *, sex: str = "Sex") -> str:
    """A census for the year ending on `reference` (31 March) holding these children."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<Message>\n  <Header>\n    <CollectionDetails>\n'
        f"      <Collection>CIN</Collection>\n      <Year>{reference.year}</Year>\n"
        f"      <ReferenceDate>{_d(reference)}</ReferenceDate>\n    </CollectionDetails>\n"
        "    <Source><SourceLevel>L</SourceLevel><LEA>938</LEA></Source>\n  </Header>\n  <Children>\n"
    ]
    for child, episodes in children.items():
        out.append(
            f"    <Child>\n      <ChildIdentifiers>\n        <LAchildID>{child}</LAchildID>\n"
            f"        <UPNunknown>UN1</UPNunknown>\n        <PersonBirthDate>2015-03-27</PersonBirthDate>\n"
            f"        <{sex}>{'M' if sex == 'Sex' else '1'}</{sex}>\n      </ChildIdentifiers>\n"
            "      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>\n"
        )
        for e in episodes:
            out.append("      <CINdetails>\n")
            out.append(f"        <CINreferralDate>{_d(e.referral)}</CINreferralDate>\n")
            out.append("        <ReferralSource>1A</ReferralSource>\n        <PrimaryNeedCode>N1</PrimaryNeedCode>\n")
            if e.closure:
                out.append(f"        <CINclosureDate>{_d(e.closure)}</CINclosureDate>\n")
                out.append("        <ReasonForClosure>RC7</ReasonForClosure>\n")
            for start, end in e.assessments:
                out.append("        <Assessments>\n")
                out.append(f"          <AssessmentActualStartDate>{_d(start)}</AssessmentActualStartDate>\n")
                out.append(_opt("AssessmentAuthorisationDate", _d(end) or None, "          "))
                out.append("        </Assessments>\n")
            for start, icpc, not_required in e.s47:
                out.append("        <Section47>\n")
                out.append(f"          <S47ActualStartDate>{_d(start)}</S47ActualStartDate>\n")
                out.append(_opt("DateOfInitialCPC", _d(icpc) or None, "          "))
                out.append(f"          <ICPCnotRequired>{not_required}</ICPCnotRequired>\n        </Section47>\n")
            out.append(f"        <ReferralNFA>{e.nfa}</ReferralNFA>\n")
            for start, end, previous in e.plans:
                out.append("        <ChildProtectionPlans>\n")
                out.append(f"          <CPPstartDate>{_d(start)}</CPPstartDate>\n")
                out.append(_opt("CPPendDate", _d(end) or None, "          "))
                out.append("          <InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>\n")
                out.append("          <LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse>\n")
                out.append(f"          <NumberOfPreviousCPP>{previous}</NumberOfPreviousCPP>\n")
                out.append("        </ChildProtectionPlans>\n")
            out.append("      </CINdetails>\n")
        out.append("    </Child>\n")
    out.append("  </Children>\n</Message>\n")
    return "".join(out)


def write_census(folder: Path, name: str, reference: date, children: dict[str, list[Episode]], **kw) -> Path:
    path = Path(folder) / name
    path.write_text(census_xml(reference, children, **kw), encoding="utf-8")
    return path
