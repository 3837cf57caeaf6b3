"""A plain install works: the wheel carries everything the code reads from disk, and `pip install .` into a fresh
environment runs the demo and prints the scorecard from an empty folder (no checkout, no environment variables)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the build reads: the packages, their data, the defaults it copies in (setup.py) and the metadata.
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "metrics.yml", "etl", "dashboard", "cpip")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy, so the checkout gets no build/ or egg-info folder, and without the network.
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        found = ROOT / name
        if found.is_dir():
            shutil.copytree(found, source / name, ignore=ignore)
        else:
            shutil.copy2(found, source / name)
    shutil.copytree(ROOT / "data" / "reference" / "dfe", source / "data" / "reference" / "dfe")
    out = tmp_path_factory.mktemp("wheel")
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    subprocess.run(
        [*build, source, "-w", out],
        check=True,
        capture_output=True,
        env=_clean_env(),
    )
    (built,) = out.glob("cpip_dashboard-*.whl")
    return built


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point the installed command back at the checkout."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("CPIP_")}


def _files_under(folder: str, pattern: str = "*") -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_wheel_carries_sql_migrations_templates_assets_and_the_defaults(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    # Named by hand, so a glob that matched nothing cannot pass: two KPI rules, a migration, the pack's
    # template, the page script, the catalogue and the neighbour model.
    for name in (
        "etl/rules/kpis/s47_enquiries.sql",
        "etl/rules/kpis/assessments.sql",
        "etl/formats/ssda903_codes.yml",  # the SSDA903's code lists by year
        "etl/store/migrations/env.py",
        "etl/store/migrations/script.py.mako",
        "etl/store/migrations/versions/0001_baseline.py",
        "dashboard/export/templates/boardpack.html",
        "dashboard/assets/cpip.js",
        "dashboard/assets/spc-icons/pass.svg",
        "etl/defaults/metrics.yml",
        "etl/defaults/data/reference/dfe/sn_model_2025_wide.csv",
        "cpip/cli.py",
    ):
        assert name in names, name
    # And everything of those kinds in the checkout.
    wanted = (
        _files_under("etl", "*.sql")
        | _files_under("etl/store/migrations", "*.py")
        | _files_under("etl/store/migrations", "*.mako")
        | _files_under("dashboard/assets")
        | _files_under("dashboard/export/templates")
        | _files_under("dashboard/export/static")
        | {f"etl/defaults/{p}" for p in _files_under("data/reference/dfe", "*.csv")}
    )
    assert sorted(wanted - names) == []
    assert (ROOT / "metrics.yml").read_bytes() == zipfile.ZipFile(wheel).read("etl/defaults/metrics.yml")


@pytest.mark.slow
def test_a_plain_install_runs_the_demo_and_prints_the_scorecard(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # The dependencies are this environment's (no downloads): a .pth adds its site-packages after the venv's own,
    # so the package itself comes from the wheel, never from the checkout.
    own = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    shared = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    (Path(own) / "deps.pth").write_text("\n".join(shared) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    folder = tmp_path / "work"
    folder.mkdir()
    env = _clean_env()

    where = subprocess.run(
        [python, "-c", "import etl; print(etl.__file__)"], cwd=folder, env=env, capture_output=True, text=True
    )
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr

    demo = subprocess.run([venv / "bin" / "cpip", "demo"], cwd=folder, env=env, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "Traceback" not in demo.stdout + demo.stderr
    assert (folder / "data" / "warehouse.duckdb").is_file()  # the working folder's data/, not the package's

    card = subprocess.run(
        [venv / "bin" / "cpip", "scorecard", "--period", "2023-07"], cwd=folder, env=env, capture_output=True, text=True
    )
    assert card.returncode == 0, card.stderr[-2000:]
    rows = {r["metric_id"]: r for r in csv.DictReader(io.StringIO(card.stdout))}
    # The demo's July assessments were made to be 375 on time of 425 (tests/test_demo.py): 88.2%, at the authority.
    assessments = rows["assessments_45wd"]
    assert (assessments["numerator"], assessments["denominator"]) == ("375", "425")
    assert (assessments["level"], assessments["org_unit"]) == ("la", "Demo County Council")
    # DfE's England figure for re-referrals in 2023-24 is 22.4%: the packaged published files were read.
    assert rows["rereferrals_12m"]["england"] == "22.4"
