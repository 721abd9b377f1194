"""The fixture document: one optional key per vendor; the same shape as exported state.

Validation is strict and names the JSON path of the first problem (``$.jpush.apps[0].app_key``);
the small ``expect_*`` helpers below are what vendors use to say so in one line.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, overload
from collections.abc import Iterable, Iterator, Mapping

DEFAULT_FIXTURES = Path(__file__).with_name("fixtures") / "default.json"


class FixtureError(ValueError):
    """A fixture document is invalid at ``path``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# -- helpers vendors use in validate_fixture -----------------------------------------------

def expect_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FixtureError(path, f"expected an object, got {_kind(value)}")
    return value


def expect_list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise FixtureError(path, f"expected an array, got {_kind(value)}")
    return value


def each_object(doc: Mapping[str, Any], key: str, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(object, its JSON path) for each item of the optional list ``doc[key]``; refuses a
    value that is not a list and an item that is not an object."""
    for i, item in enumerate(expect_list(doc.get(key, []), f"{path}.{key}")):
        item_path = f"{path}.{key}[{i}]"
        yield expect_object(item, item_path), item_path


@overload
def expect_str(value: Any, path: str, *, pattern: str | None = None, nullable: Literal[False] = False,
               max_len: int | None = None, choices: Iterable[str] | None = None) -> str: ...
@overload
def expect_str(value: Any, path: str, *, pattern: str | None = None, nullable: bool = ...,
               max_len: int | None = None, choices: Iterable[str] | None = None) -> str | None: ...
def expect_str(
    value: Any,
    path: str,
    *,
    pattern: str | None = None,
    nullable: bool = False,
    max_len: int | None = None,
    choices: Iterable[str] | None = None,
) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise FixtureError(path, f"expected a string, got {_kind(value)}")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise FixtureError(path, f"{value!r} does not match {pattern}")
    if max_len is not None and len(value) > max_len:
        raise FixtureError(path, f"longer than {max_len} characters")
    if choices is not None:
        allowed = list(choices)
        if value not in allowed:
            raise FixtureError(path, f"expected one of {', '.join(allowed)}, got {value!r}")
    return value


def expect_bool(value: Any, path: str, *, nullable: bool = False) -> bool | None:
    if value is None and nullable:
        return None
    if not isinstance(value, bool):
        raise FixtureError(path, f"expected true or false, got {_kind(value)}")
    return value


@overload
def expect_int(value: Any, path: str, *, nullable: Literal[False] = False, minimum: int | None = None) -> int: ...
@overload
def expect_int(value: Any, path: str, *, nullable: bool = ..., minimum: int | None = None) -> int | None: ...
def expect_int(value: Any, path: str, *, nullable: bool = False, minimum: int | None = None) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FixtureError(path, f"expected an integer, got {_kind(value)}")
    if minimum is not None and value < minimum:
        raise FixtureError(path, f"must be at least {minimum}")
    return value


def expect_number(value: Any, path: str, *, nullable: bool = False) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FixtureError(path, f"expected a number, got {_kind(value)}")
    return value


def expect_keys(
    obj: Mapping[str, Any],
    path: str,
    *,
    required: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> None:
    """Every required key present, no key outside required+optional."""
    req = list(required)
    allowed = set(req) | set(optional)
    for key in req:
        if key not in obj:
            raise FixtureError(f"{path}.{key}", "is required")
    for key in obj:
        if key not in allowed:
            raise FixtureError(f"{path}.{key}", f"unknown field (allowed: {', '.join(sorted(allowed))})")


def expect_unique(items: Iterable[tuple[str, Any]], what: str) -> None:
    """``items`` are (json path, identity) pairs; refuse a repeated identity."""
    seen: dict[Any, str] = {}
    for path, ident in items:
        if ident in seen:
            raise FixtureError(path, f"duplicate {what} {ident!r} (first at {seen[ident]})")
        seen[ident] = path


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )


# -- whole documents -----------------------------------------------------------------------

def validate_document(doc: Any, vendors: Mapping[str, Any], path: str = "$") -> dict[str, Any]:
    """Check the top level and hand each vendor its part. Returns the document."""
    expect_object(doc, path)
    for key, part in doc.items():
        vendor = vendors.get(key)
        if vendor is None:
            raise FixtureError(
                f"{path}.{key}", f"unknown vendor (expected one of {', '.join(vendors)})"
            )
        expect_object(part, f"{path}.{key}")
        vendor.validate_fixture(part, f"{path}.{key}")
    return doc


def read_document_file(file: str | Path) -> Any:
    """Parse a fixture file; a syntax error becomes a FixtureError at ``$``."""
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise FixtureError("$", f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FixtureError("$", f"{file} is not UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureError("$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None

