"""The wheel carries the default KPI catalogue and DfE's published figures (etl/defaults/), copied from where the
project keeps them (metrics.yml and data/reference/dfe/ at the top), so `pip install .` works anywhere
(etl/paths.py finds them). Everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DEFAULTS = {"metrics.yml": "metrics.yml", "data/reference/dfe": "data/reference/dfe"}


class BuildWithDefaults(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "etl" / "defaults"
        for source, name in DEFAULTS.items():
            found = HERE / source
            files = sorted(found.glob("*.csv")) if found.is_dir() else [found]
            for file in files:
                out = target / name / file.name if found.is_dir() else target / name
                self.mkpath(str(out.parent))
                self.copy_file(str(file), str(out))


setup(cmdclass={"build_py": BuildWithDefaults})
