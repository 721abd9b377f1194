"""The interface every vendor implements: one small class per vendor package.

A vendor contributes its routes, its tables (ordered migrations), its part of the fixture
document (validate, load, export), its options (profiles and switches), its error shape for
generic statuses and its unknown-route answer. The core knows vendors only through this class
and the registry in :mod:`emulator.vendors`.
"""
from __future__ import annotations

import asyncio
import importlib
import sqlite3
import sys
from types import ModuleType
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import ApiError
from .httputil import RequestState, request_state
from .storage import Browse, CreatedRows, create_recorded, undo_created_rows

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: tenants a vendor remembers between writes (see Vendor._lookup), and verified credentials
#: (Vendor.verified)
MAX_KNOWN_TENANTS = 1024
#: a credential longer than this is verified every time (headers may be 256 KB)
MAX_REMEMBERED_CREDENTIAL = 1024


class NewTenant:
    """A tenant open mode creates, from before its create is queued until every request using it
    is answered: it stays if one of them is accepted, and is removed when all of them were
    refused. While it is being removed, a request that finds it waits, then looks again (and
    creates it anew)."""

    def __init__(self, vendor: Vendor, key: Any) -> None:
        self.vendor = vendor
        self.key = key
        self.rows: CreatedRows = []
        self.holders: set[int] = set()
        self.accepted = False
        #: resolved once the rows are removed
        self.removing: asyncio.Future[None] | None = None

    def hold(self, request: web.Request, state: RequestState) -> None:
        """The request uses this tenant: it stays until the envelope settles the request's answer."""
        self.holders.add(id(request))
        if state.new_tenants is None:
            state.new_tenants = []
        state.new_tenants.append(self)

    async def settle(self, request: web.Request, accepted: bool) -> None:
        """This request is answered: when it was the last and none was accepted, remove the rows."""
        self.holders.discard(id(request))
        self.accepted = self.accepted or accepted
        if self.holders:
            return
        if self.accepted or not self.rows:
            self.vendor._new_tenants.pop(self.key, None)
            return
        self.removing = asyncio.get_running_loop().create_future()
        try:
            await self.vendor.ctx.store.write(undo_created_rows, [self.rows])
        finally:
            self.vendor._new_tenants.pop(self.key, None)
            self.removing.set_result(None)


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
    #: ``pattern`` only widens ``path`` (e.g. extra slashes): ``path`` is registered too, before
    #: every pattern, so the router finds the usual spelling in its index. aiohttp indexes a
    #: pattern by its text before the first ``{``; slash-tolerant ones all land under ``/``,
    #: where each request tries their regexes one by one.
    exact_first: bool = False


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

    The package's modules are read by their roles when the subclass is defined (so a vendor
    declares only what is its own): ``storage.MIGRATIONS`` and ``storage.BROWSE``,
    ``errors.ERROR_SCHEMA``, the ``fixtures`` module, and ``routes.Routes`` whose ``table()`` is
    the route table. A class attribute set explicitly wins.

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
    #: OpenAPI security schemes this vendor's routes use (component name -> scheme object)
    security_schemes: ClassVar[dict[str, dict[str, Any]]] = {}
    #: the security requirement of its routes, unless a route's ``doc["security"]`` says otherwise
    security: ClassVar[list[dict[str, list[str]]]] = []
    #: where the vendor's tenants and devices are, for the dashboard's paged tables
    browse: ClassVar[Browse | None] = None
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

    #: the package's ``routes.Routes`` class: ``Routes(vendor).table()`` is the route table
    routes_class: ClassVar[type | None] = None

    #: class attribute -> (module of the vendor package, name in it); ``None``: the module itself
    PACKAGE_ROLES: ClassVar[dict[str, tuple[str, str | None]]] = {
        "migrations": ("storage", "MIGRATIONS"),
        "browse": ("storage", "BROWSE"),
        "error_schema": ("errors", "ERROR_SCHEMA"),
        "fixture_io": ("fixtures", None),
        "routes_class": ("routes", "Routes"),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        package = sys.modules.get(cls.__module__)
        if package is None or not hasattr(package, "__path__"):  # a class outside a vendor package
            return
        for attr, (module_name, member) in Vendor.PACKAGE_ROLES.items():
            if attr in cls.__dict__:
                continue
            try:
                module = importlib.import_module(f"{cls.__module__}.{module_name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{cls.__module__}.{module_name}":
                    raise  # the module exists but something it imports does not
                continue
            value = module if member is None else getattr(module, member, None)
            if value is not None:
                setattr(cls, attr, value)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        #: tenants open mode created for requests not answered yet
        self._new_tenants: dict[Any, NewTenant] = {}
        #: found tenants by lookup, valid while no write has been acknowledged since (see tenant())
        self._known_tenants: dict[Any, Any] = {}
        #: credential -> (tenant, the request's tenant refusal), valid like _known_tenants
        self._verified: dict[Any, tuple[Any, Any]] = {}
        self._known_at = -1

    # -- the HTTPS proxy ------------------------------------------------------------------
    def check_proxied_host(self, host: str, request: web.Request) -> ApiError | None:
        """A request reached this vendor through the proxy for ``host`` (one of :attr:`hosts`):
        the refusal the real service gives when host and request disagree, or None."""
        return None

    # -- routes ---------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        """The vendor's route table."""
        return self.routes_class(self).table() if self.routes_class is not None else []

    def option(self, key: str) -> Any:
        """The current value of one of this vendor's options."""
        return self.ctx.options.get(self.name, key)

    # -- tenants --------------------------------------------------------------------------
    async def tenant(self, request: web.Request, lookup: Callable[..., Any], create: Callable[..., Any],
                     *args: Any, refusal: ApiError | Callable[[], ApiError],
                     creatable: bool | Callable[[], bool] = True) -> Any:
        """The stored tenant (Capgo key, MoEngage workspace, Beams instance, JPush app, AppLovin
        account) found by ``lookup(conn, *args)``; in ``--auth open`` mode an unknown one that
        the request names acceptably (``creatable``) is made by ``create(conn, *args)``, which
        returns the same value ``lookup`` would. Otherwise ``refusal`` is raised; it may be a
        function that makes the error, and ``creatable`` a function deciding it: most requests
        name a known tenant, and neither is then needed.

        A refused request changes nothing, tenants included: the rows ``create`` added are
        remembered on the request, and when its answer is a refusal (4xx/5xx) the envelope
        removes them again (:func:`undo_created_rows`). ``refusal`` is also what a write
        answers when its tenant vanished under it (a reset raced the request)."""
        state = request_state(request)
        state.tenant_refusal = refusal
        key: Any = (lookup, create, args)  # module-level functions and plain args match across requests
        try:
            hash(key)
        except TypeError:
            key = object()
        while True:
            row = self._lookup(key, lookup, args)
            pending = self._new_tenants.get(key)
            if pending is not None and pending.removing is not None:  # a refused request's, going away
                await asyncio.shield(pending.removing)
                continue
            if row is not None:
                if pending is not None:  # made for a request in flight: it must outlive that one's refusal
                    pending.hold(request, state)
                return row
            if not (self.ctx.options.auth_open and (creatable() if callable(creatable) else creatable)):
                raise refusal if isinstance(refusal, ApiError) else refusal()
            # held before the write is queued: the writer commits before the loop hears of it, and
            # a request that reads the row in between must find it held, not settled
            if pending is None:
                pending = self._new_tenants[key] = NewTenant(self, key)
            pending.hold(request, state)
            result, created = await self.ctx.store.write(create_recorded, self.name, create, args)
            pending.rows.extend(created)
            return result

    def _lookup(self, key: Any, lookup: Callable[..., Any], args: tuple) -> Any:
        """``lookup(conn, *args)``, remembered until the next acknowledged write: nearly every
        request names a tenant, and between two writes the answer cannot change (every write,
        the control plane's and open mode's included, goes through the store and is counted
        when acknowledged). Only found tenants are kept, at most MAX_KNOWN_TENANTS; a dict is
        handed out as a copy so no caller can change what the next one gets."""
        store = self.ctx.store
        if self._known_at != store.acknowledged:
            self._forget_known()
        row = self._known_tenants.get(key)
        if row is None:
            row = store.read(lookup, *args)
            if row is not None and type(key) is tuple and len(self._known_tenants) < MAX_KNOWN_TENANTS:
                self._known_tenants[key] = row
        return dict(row) if isinstance(row, dict) else row

    def _forget_known(self) -> None:
        self._known_tenants.clear()
        self._verified.clear()
        self._known_at = self.ctx.store.acknowledged

    def verified(self, request: web.Request, credential: Any) -> Any:
        """The tenant ``credential`` (a tuple of everything the vendor's check reads from the
        request: its credential header, and the tenant named in the path if any) was verified
        for by :meth:`remember_verified`, when no write has been acknowledged since; None when
        the check must run. Most requests repeat a credential checked a moment ago: parsing
        it, looking up its tenant and comparing secrets are then skipped. The request's tenant
        refusal is what the check set (see :meth:`tenant`)."""
        if self._known_at != self.ctx.store.acknowledged:
            self._forget_known()
            return None
        known = self._verified.get(credential)
        if known is None or self._new_tenants:  # a tenant open mode made: the check holds it
            return None
        request_state(request).tenant_refusal = known[1]
        return known[0]

    def remember_verified(self, request: web.Request, credential: Any, tenant: Any, since: int) -> None:
        """The check accepted ``credential`` for ``tenant`` (immutable: a tenant's key), reading
        the store as it was when ``since`` (``store.acknowledged`` before the check) was current.
        Only credentials of a bounded size, at most MAX_KNOWN_TENANTS of them."""
        if since != self.ctx.store.acknowledged or self._new_tenants or len(self._verified) >= MAX_KNOWN_TENANTS:
            return
        if any(isinstance(part, str) and len(part) > MAX_REMEMBERED_CREDENTIAL for part in credential):
            return
        if self._known_at != since:
            self._forget_known()
        self._verified[credential] = (tenant, request_state(request).tenant_refusal)

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

    # -- delivery ledger (emulator.deliveries) --------------------------------------------------
    def explain_miss(self, conn: sqlite3.Connection, tenant: str, publish_id: str, device_id: str) -> str | None:
        """Why this device of the tenant got no delivery from that publish (a sentence: "not
        subscribed to any of news, sports", "device of user bob, deleted before the publish", ...);
        None when the vendor knows no such publish or no such device (the control plane answers
        404). Vendors keep what they need (e.g. the publish's audience, device tombstones) in
        their own tables to answer it. Default: the vendor does not target devices."""
        return None

    def invalidate_token(self, conn: sqlite3.Connection, tenant: str, device_id: str, reason: str) -> bool:
        """Validate that the device exists (False -> 404). The core records the dead token; the
        vendor then applies the real service's follow-up when a later delivery fails (e.g. Beams
        removes the device). Default: the vendor does not target devices."""
        return False

    @property
    def targets_devices(self) -> bool:
        """Whether this vendor keeps a delivery ledger (overrides the two hooks above)."""
        cls = type(self)
        return cls.explain_miss is not Vendor.explain_miss or cls.invalidate_token is not Vendor.invalidate_token
