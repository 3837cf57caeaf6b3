"""Reading a Dash component tree the way a person reads the page: its text, and the
components with a given id. For tests that call page builders and callbacks directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _children(component: Any) -> Any:
    # An empty element with `data-cpip-html` shows that HTML (dashboard/assets/html_blocks.js).
    children = getattr(component, "children", None)
    return getattr(component, "data-cpip-html", None) if children is None else children


def _is_leaf(component: Any) -> bool:
    return component is None or isinstance(component, str | int | float)


def text_of(component: Any) -> str:
    """All the text a reader would see in a component tree, space-joined."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(t for t in (text_of(c) for c in component) if t)
    return text_of(_children(component))


def find_all(component: Any, predicate: Callable[[Any], bool]) -> list:
    """Every component in the tree for which `predicate` is true, in page order."""
    if isinstance(component, list | tuple):
        return [found for c in component for found in find_all(c, predicate)]
    if _is_leaf(component):
        return []
    return ([component] if predicate(component) else []) + find_all(_children(component), predicate)


def by_id(component: Any, wanted: str) -> Any:
    """The first component whose id is `wanted`, or None."""
    found = find_all(component, lambda c: getattr(c, "id", None) == wanted)
    return found[0] if found else None


def ids_in(component: Any) -> list:
    """Every id in the tree, in page order."""
    return [c.id for c in find_all(component, lambda c: getattr(c, "id", None) is not None)]
