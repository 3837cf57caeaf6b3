"""The layout's promises, checked on the source: data flows one way.

Every project module (etl/, cpip/, dashboard/, app.py) is parsed with `ast`; every import counts, including
the lazy ones inside functions, because a lazy import is still a dependency a newcomer has to know about."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("etl", "cpip", "dashboard")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    found = {_module_name(p, root): p for package in PACKAGES for p in (root / package).rglob("*.py")}
    found["app"] = root / "app.py"
    return found


def _resolve(name: str, known: set[str]) -> str | None:
    """The project module an imported name lives in: `etl.store.db.Dialect` -> `etl.store.db`."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # from .x import y: relative to the module's package (a package's own __init__ is its package).
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            # `from etl.store import db` imports the module etl.store.db, not only the package.
            targets = [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]
        else:
            continue
        for target in targets:
            resolved = _resolve(target, known)
            if resolved and resolved != module:
                found.add(resolved)
    # A module imports its parent packages too (Python runs their __init__ first); those edges are not the
    # module's choice and would make every package with a re-exporting __init__ a circle, so leave them out.
    return {m for m in found if not module.startswith(m + ".")}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_circles_between_project_modules():
    found = circles(import_graph())
    assert found == [], "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def test_etl_never_imports_dashboard_or_the_command():
    graph = import_graph()
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        if module.startswith("etl")
        for target in targets
        if target.startswith(("dashboard", "cpip")) or target == "app"
    )
    assert upward == []


# The checker itself, on a made-up tree: a circle through a lazy import is found, a one-way chain is not.


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "app.py").write_text("import dashboard.page\n")
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


def test_a_lazy_import_inside_a_function_makes_a_circle(tmp_path):
    root = _tree(
        tmp_path,
        {
            "etl/store/__init__.py": "",
            "etl/store/db.py": "def f():\n    from etl.store import warehouse\n",
            "etl/store/warehouse.py": "from .db import f\n",
            "dashboard/page.py": "import etl.store.warehouse\n",
        },
    )
    # db -> warehouse (lazy, in f) and warehouse -> db (relative): one circle of two.
    assert circles(import_graph(root)) == [["etl.store.db", "etl.store.warehouse"]]


def test_a_one_way_chain_is_no_circle(tmp_path):
    root = _tree(
        tmp_path,
        {
            "etl/store/__init__.py": "from etl.store.warehouse import open_it\n",
            "etl/store/db.py": "X = 1\n",
            "etl/store/warehouse.py": "from etl.store.db import X\n",
            "dashboard/page.py": "from etl.store import warehouse\n",
        },
    )
    graph = import_graph(root)
    # The package's __init__ re-exports warehouse; warehouse importing its own package is not counted.
    assert graph["dashboard.page"] == {"etl.store", "etl.store.warehouse"}
    assert circles(graph) == []


@pytest.mark.parametrize("line", ["import dashboard.theme", "from dashboard import theme"])
def test_an_etl_import_of_dashboard_is_seen(tmp_path, line):
    root = _tree(tmp_path, {"etl/x.py": line + "\n", "dashboard/theme.py": ""})
    assert "dashboard.theme" in import_graph(root)["etl.x"]
