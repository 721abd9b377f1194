"""The interface every vendor implements: one small class per vendor package.

A vendor contributes its routes, its tables (ordered migrations), its part of the fixture
document (validate, load, export), its options (profiles and switches), its error shape for
generic statuses and its unknown-route answer. The core knows vendors only through this class
and the registry in :mod:`emulator.vendors`.
"""
from __future__ import annotations

import sqlite3
from types import ModuleType
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import ApiError

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One served route. ``path`` is the canonical form (documented, OpenAPI);
    ``pattern`` is the aiohttp pattern actually registered when it must differ
    (e.g. a slash-tolerant regex)."""

    method: str
    path: str
    handler: Handler
    summary: str = ""
    pattern: str | None = None
    # Free-form documentation bits used by the OpenAPI generator (parameters, bodies...).
    doc: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Option:
    """A vendor switch: a default, the accepted values and what it does.

    ``choices`` limits string options; ``kind`` is ``str``, ``bool`` or ``int``.
    """

    default: Any
    help: str
    kind: type = str
    choices: tuple[str, ...] | None = None

    def parse(self, raw: Any) -> Any:
        """Turn a CLI/env/JSON value into the option's type or raise ValueError."""
        if self.kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"expected a boolean (true/false), got {raw!r}")
        if self.kind is int:
            if isinstance(raw, bool):
                raise ValueError(f"expected an integer, got {raw!r}")
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise ValueError(f"expected an integer, got {raw!r}") from None
            if value < 0:
                raise ValueError(f"expected a non-negative integer, got {raw!r}")
            return value
        if not isinstance(raw, str):
            raise ValueError(f"expected a string, got {raw!r}")
        if self.choices is not None and raw not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {raw!r}")
        return raw


class Vendor:
    """Base class of a vendor package's entry point.

    Conventions the core relies on:
    - every table a vendor creates is named ``<name>_...`` (reset empties them all);
    - ``load_fixture`` *merges*: objects are matched by identity, new ones added,
      existing ones updated field by field, nothing removed;
    - handlers raise :class:`emulator.errors.ApiError` for every refusal.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    #: first path segments this vendor owns (``/v3/...`` -> ``"v3"``).
    path_roots: ClassVar[frozenset[str]]
    #: the real service's host names (``*`` matches one DNS label), served by the HTTPS proxy
    hosts: ClassVar[tuple[str, ...]] = ()
    #: ordered SQL scripts; index+1 is the schema version of this vendor.
    migrations: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[dict[str, Option]] = {}
    #: answer CORS preflights and add CORS headers (browser SDKs).
    cors: ClassVar[bool] = False
    #: JSON Schema of this vendor's error body (OpenAPI document, fuzzing checks).
    error_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    #: the vendor's fixture module: ``validate(doc, path)``, ``load(conn, doc, *, path, now)``,
    #: ``export(conn)``.
    #: The three fixture methods below delegate to it; override one when it needs more.
    fixture_io: ModuleType | None = None

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- routes ---------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        """The vendor's route table (``routes.Routes(self).table()`` in every package)."""
        return []

    def option(self, key: str) -> Any:
        """The current value of one of this vendor's options."""
        return self.ctx.options.get(self.name, key)

    # -- tenants --------------------------------------------------------------------------
    async def tenant(self, request: web.Request, lookup: Callable[..., Any], create: Callable[..., Any],
                     *args: Any, refusal: ApiError | Callable[[], ApiError], creatable: bool = True) -> Any:
        """The stored tenant (Capgo key, MoEngage workspace, Beams instance, JPush app, AppLovin
        account) found by ``lookup(conn, *args)``; in ``--auth open`` mode an unknown one that
        the request names acceptably (``creatable``) is made by ``create(conn, *args)``, which
        returns the same value ``lookup`` would. Otherwise ``refusal`` is raised; it may be a
        function that makes the error, for errors that cost something to build (random ids)."""
        row = self.ctx.store.read(lookup, *args)
        if row is not None:
            return row
        if not (creatable and self.ctx.options.auth_open):
            raise refusal if isinstance(refusal, ApiError) else refusal()
        return await self.ctx.store.write(create, *args)

    # -- fixtures -------------------------------------------------------------------------
    def validate_fixture(self, doc: Any, path: str) -> None:
        """Raise :class:`emulator.fixtures.FixtureError` naming the JSON path of a problem."""
        if self.fixture_io is not None:
            self.fixture_io.validate(doc, path)

    def load_fixture(self, conn: sqlite3.Connection, doc: dict[str, Any], now: str | None = None) -> None:
        """Merge an already validated fixture part into the tables (inside a transaction).
        The fixture module's ``load`` gets the part's JSON path (for errors only loading can
        find, e.g. cross-references) and the emulator clock's ISO time (for stamps), or ``now``."""
        if self.fixture_io is not None:
            self.fixture_io.load(conn, doc, path=f"$.{self.name}", now=now or self.ctx.clock.iso())

    def export_state(self, conn: sqlite3.Connection) -> dict[str, Any]:
        """The vendor's whole state as a fixture part."""
        return self.fixture_io.export(conn) if self.fixture_io is not None else {}

    def on_reset(self) -> None:
        """Forget in-memory state (caches, counters) after the tables were emptied."""

    # -- errors ---------------------------------------------------------------------------
    def generic_error(self, request: web.Request, status: int) -> ApiError:
        """This vendor's error for a generic status (500, 404, 405, 413, 429, 503...):
        used for crashes, oversized bodies and injected faults."""
        return ApiError(status, {"error": {"status": status}})

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        """What the vendor answers for a path (404) or method (405) it does not serve."""
        return self.generic_error(request, status)
