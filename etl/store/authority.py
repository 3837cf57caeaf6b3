"""Which authority (or authorities) the work in hand belongs to.

Every record, load, KPI row, note and plan belongs to an authority, named by its
DfE code (`la_code`, three digits: 938 is West Sussex). The authority of
metrics.yml is the default; `cpip ... --authority CODE` and the web app's gate
(from the access file's `authorities`) choose another for the work in hand with
`using(code)`, and every read and write below asks `current()`.

How the engines keep authorities apart (etl/store/warehouse.py):
- PostgreSQL: one set of tables; every row carries `la_code`, and row-level
  security confines each transaction to the authorities `using()` named (the
  setting `app.la_codes`), so a query that forgets an authority still cannot
  return another council's rows.
- DuckDB: one file per authority (the default authority's is the file named;
  another's sits beside it as `<name>.<code>.duckdb`), because DuckDB allows
  one writer per file: authorities load side by side.
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from etl.catalogue.metrics import catalogue

CODE = re.compile(r"^\d{3}$")
# The code of an authority that metrics.yml does not name (a warehouse made before authorities had codes).
UNNAMED = "000"

_current: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("cpip_authorities", default=None)
# The authorities the web request's viewer may see (set by dashboard/gate.py); None outside a request.
_permitted: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar("cpip_permitted", default=None)


class NotPermitted(PermissionError):
    """The viewer may not see that authority; the message is a plain sentence for them."""


@dataclass(frozen=True)
class Authority:
    code: str
    name: str
    short_name: str


def default_code() -> str:
    """metrics.yml's authority's code (000 when it names none)."""
    return catalogue().authority.la_code or UNNAMED


def check_code(code: str) -> str:
    """`code` as a DfE code (`938`); ValueError naming the mistake otherwise."""
    text = str(code).strip()
    if not CODE.match(text):
        raise ValueError(f"{code!r} is not an authority's DfE code (three digits, like 938)")
    return text


def codes() -> tuple[str, ...]:
    """The authorities the work in hand belongs to (one for a load; one or more for a regional view)."""
    return _current.get() or (default_code(),)


def current_code() -> str:
    """The authority of the work in hand: the first of `codes()`."""
    return codes()[0]


def current() -> Authority:
    return authority(current_code())


@contextmanager
def using(code: str | Sequence[str] | None) -> Iterator[tuple[str, ...]]:
    """Work on `code` (or several codes, for a regional view) inside the block; None keeps the current."""
    if code is None:
        yield codes()
        return
    chosen = (check_code(code),) if isinstance(code, str) else tuple(dict.fromkeys(check_code(c) for c in code))
    if not chosen:
        raise ValueError("name at least one authority")
    allowed = _permitted.get()
    if allowed is not None and not set(chosen) <= set(allowed):
        outside = ", ".join(authority(c).name for c in chosen if c not in allowed)
        raise NotPermitted(f"You have not been given access to {outside}. Ask the performance team if you need it.")
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def served() -> tuple[str, ...]:
    """The authorities this installation serves: $CPIP_AUTHORITIES (comma-separated DfE codes), else
    metrics.yml's alone."""
    named = [c.strip() for c in os.environ.get("CPIP_AUTHORITIES", "").split(",") if c.strip()]
    codes = tuple(dict.fromkeys(check_code(c) for c in named))
    return codes or (default_code(),)


def visible() -> tuple[str, ...]:
    """The authorities the work in hand may show side by side: those the web request's viewer was
    permitted, else every authority the installation serves."""
    return _permitted.get() or served()


def permit(codes: Sequence[str] | None) -> contextvars.Token:
    """For the rest of a web request: `using()` may name only `codes` (None: any); work is for the first."""
    token = _permitted.set(tuple(codes) if codes is not None else None)
    return token


def end_permit(token: contextvars.Token) -> None:
    _permitted.reset(token)


def enter(codes: Sequence[str]) -> contextvars.Token:
    """Work on `codes` until `leave(token)` (a web request's span, where a `with` block does not fit)."""
    return _current.set(tuple(check_code(c) for c in codes))


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


def scoped(function: Callable) -> Callable:
    """`function` takes `authority=CODE` (or several codes), doing its work for that authority."""

    @functools.wraps(function)
    def wrapper(*args, authority: str | Sequence[str] | None = None, **kwargs):
        with using(authority):
            return function(*args, **kwargs)

    return wrapper


def authority(code: str) -> Authority:
    """The authority with DfE code `code`: metrics.yml's own, else its name in DfE's list."""
    code = check_code(code) if code != UNNAMED else code
    own = catalogue().authority
    if code == (own.la_code or UNNAMED):
        return Authority(code, own.name, own.short_name or own.name)
    name = _dfe_names().get(code)
    if name is None:
        return Authority(code, f"Authority {code}", f"Authority {code}")
    return Authority(code, name, name)


def own_file(path: Path, code: str | None = None) -> Path:
    """`path` for the authority `code` (default: the work in hand's): the path itself for the default
    authority, `<name>.<code><suffix>` beside it for another (a DuckDB file, a notes file)."""
    code = code or current_code()
    if code == default_code():
        return path
    return path.with_name(f"{path.stem}.{code}{path.suffix}")


def known(code: str) -> bool:
    """True when `code` is metrics.yml's authority or in DfE's list of authorities."""
    return code == default_code() or code in _dfe_names()


@lru_cache(maxsize=1)
def _dfe_names() -> dict[str, str]:
    """{code: name} from the DfE statistical-neighbour model shipped in data/reference/dfe/."""
    from etl.catalogue import reference

    if not reference.REFERENCE_DIR.exists():
        return {}
    try:
        frames = reference._reference_tables(str(reference.REFERENCE_DIR), reference.reference_hash())
    except reference.ReferenceError:
        return {}
    table = frames["authorities"]
    return dict(zip(table["la_code"], table["la_name"], strict=True))
