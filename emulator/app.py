"""The app factory: one aiohttp application serving every registered vendor at its real
paths, the control plane under ``/_emulator``, and one envelope around every route's handler
that turns errors, unknown routes and crashes into each vendor's own answer and journals every
request."""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import sqlite3
import time
from functools import partial, update_wrapper
from urllib.parse import urlsplit
from typing import Any
from collections.abc import Iterable

from aiohttp import web
from multidict import CIMultiDict

from . import __version__, deliveries
from .clock import Clock
from .config import Config
from .context import CONTEXT, CONTROL_ROOT, Context
from .control import control_routes
from .errors import ApiError, make_response
from .faults import FaultRule
from .fixtures import FixtureError, read_document_file, validate_document
from .httputil import REQUEST_STATE, RequestState, read_body_prefix, safe_text, unsafe_headers
from .journal import Journal, header_bytes
from .options import Options
from .ratelimit import SlidingWindowLimiter
from .storage import Component, Store, storage_failure
from .vendor import Handler, Vendor
from .vendors import REGISTRY

log = logging.getLogger("emulator")

def build_context(config: Config, vendor_classes: Iterable[type[Vendor]] | None = None) -> Context:
    """Open the database, migrate, validate start-up fixtures and load them if the database
    is new. Raises FixtureError (nothing loaded) or ValueError (bad option)."""
    classes = list(REGISTRY if vendor_classes is None else vendor_classes)
    clock = Clock()
    options = Options({cls.name: cls for cls in classes})
    ctx = Context(
        config=config,
        store=Store(config.db),
        clock=clock,
        limiter=SlidingWindowLimiter(clock),
        journal=Journal(config.journal_size),
        options=options,
    )
    for cls in classes:
        vendor = cls(ctx)
        if cls.name in ctx.vendors:
            raise ValueError(f"vendor {cls.name!r} registered twice")
        ctx.vendors[cls.name] = vendor
        for root in cls.path_roots:
            if root in ctx.roots or root == CONTROL_ROOT:
                raise ValueError(f"path root /{root} claimed twice")
            ctx.roots[root] = vendor

    startup: dict[str, Any] = {"auth": config.auth}
    for vendor_name, profile in config.profiles.items():
        startup.setdefault(vendor_name, {})["profile"] = profile
    for vendor_name, values in config.options.items():
        startup.setdefault(vendor_name, {}).update(values)
    options.set_startup(startup)

    docs = []
    for file in config.fixtures:
        try:
            docs.append(validate_document(read_document_file(file), ctx.vendors))
        except FixtureError as exc:
            exc.file = file  # type: ignore[attr-defined]
            raise
    ctx.startup_documents = docs

    ctx.store.open([Component("core", deliveries.MIGRATIONS),
                    *(Component(cls.name, cls.migrations) for cls in classes)])
    ctx.store.write_now(deliveries.configure, config.deliveries_size)
    if not ctx.startup_fixtures_loaded():
        try:
            ctx.load_startup_sync()
        except BaseException:
            ctx.store.close()
            raise
    return ctx


def create_app(config: Config | None = None, *, context: Context | None = None) -> web.Application:
    """The public app factory. ``create_app(Config(db=":memory:"))`` is enough for
    pytest-aiohttp's ``aiohttp_client``."""
    ctx = context or build_context(config or Config())
    app = web.Application(client_max_size=ctx.config.max_body_bytes)
    app[CONTEXT] = ctx
    for route in control_routes(ctx):
        ctx.routes.append((None, route))
    for name, vendor in ctx.vendors.items():
        for route in vendor.routes():
            ctx.routes.append((name, route))
    for _, route in ctx.routes:
        if route.exact_first and route.pattern:
            app.router.add_route(route.method, route.path, enveloped(ctx, route.handler))
    for _, route in ctx.routes:
        app.router.add_route(route.method, route.pattern or route.path, enveloped(ctx, route.handler))
    # last of all: whatever no route serves still gets the vendor's (or the control plane's) answer
    app.router.add_route("*", "/{path:.*}", enveloped(ctx, _unmatched), name=UNMATCHED)
    app.on_startup.append(_start_store)
    app.on_shutdown.append(_stopping)
    app.on_cleanup.append(_close_store)
    return app


#: set when the server begins to shut down: an injected latency ends then, so SIGTERM keeps its
#: documented 3 s (aiohttp waits the grace period, then again after cancelling a request)
STOPPING: web.AppKey[asyncio.Event] = web.AppKey("emulator_stopping", asyncio.Event)


async def _start_store(app: web.Application) -> None:
    app[CONTEXT].store.start(asyncio.get_running_loop())
    app[STOPPING] = asyncio.Event()


async def _stopping(app: web.Application) -> None:
    if STOPPING in app:
        app[STOPPING].set()


async def _pause(app: web.Application, seconds: float) -> None:
    """A fault's latency, cut short when the server stops."""
    stopping = app.get(STOPPING)
    if stopping is None:
        await asyncio.sleep(seconds)
        return
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        pass


async def _close_store(app: web.Application) -> None:
    app[CONTEXT].store.close()


CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"


def _cors_preflight(request: web.Request) -> web.Response:
    resp = web.Response(status=204)
    resp.headers["Access-Control-Allow-Methods"] = CORS_METHODS
    resp.headers["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", "Content-Type, Authorization"
    )
    resp.headers["Access-Control-Max-Age"] = "86400"
    return resp


def _not_found(request: web.Request, status: int) -> web.Response:
    what = "route" if status == 404 else "method"
    return make_response(
        status,
        {"error": f"no such {what}", "method": request.method, "path": request.path,
         "hint": "vendor routes are listed at /_emulator/openapi.json; see the README"},
    )


#: the name of the route that catches every request no other route serves
UNMATCHED = "emulator_unmatched"


async def _unmatched(request: web.Request) -> web.StreamResponse:
    """No route serves the request: 405 when some route serves its path with other methods, else
    404 (the answers aiohttp's router gives; the envelope turns them into the vendor's)."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name != UNMATCHED:
            allowed |= (await resource.resolve(request))[1]
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


def enveloped(ctx: Context, handler: Handler) -> Handler:
    """``handler`` inside :func:`envelope`, as the router calls it. A wrapper per route instead of
    an aiohttp middleware: aiohttp runs its own middleware (setting the request's current app)
    as one more coroutine around every request of an app that has one, and resolves the chain
    per request; this is ~13k instructions less per request (``python -m bench.inproc``)."""
    return update_wrapper(partial(envelope, handler=handler, ctx=ctx), handler)


async def envelope(request: web.Request, handler: Handler, ctx: Context) -> web.StreamResponse:
    """Around every request: faults, errors to vendor shapes, CORS for browser SDKs, and the
    request journal."""
    started = time.perf_counter()
    headers_seen = header_bytes(request.raw_headers)
    if not headers_seen.isascii() and unsafe_headers(request.headers):  # bytes that are not UTF-8
        request = request.clone(headers=CIMultiDict(
            (name, safe_text(value)) for name, value in request.headers.items()))
    state = request[REQUEST_STATE] = RequestState()
    vendor = ctx.vendor_for_path(request.path)
    control = vendor is None and request.path.startswith("/_emulator")
    if control:
        refused = browser_guard(request, ctx.config.allowed_hosts)
        if refused is not None:
            return refused
    fault: FaultRule | None = None
    if ctx.faults.rules and not control:
        fault = ctx.faults.pick(vendor.name if vendor else None, request.method, request.path)
    try:
        if fault is not None and fault.latency_ms:
            await _pause(request.app, fault.latency_ms / 1000)
        if fault is not None and fault.drop:
            if request.transport is not None:
                request.transport.abort()
            _record(ctx, request, None, vendor, started, fault, state.body, len(headers_seen))
            return web.Response()  # never reaches the peer: the connection is gone
        response: web.StreamResponse
        if fault is not None and fault.status is not None:
            response = (vendor.generic_error(request, fault.status).response() if vendor is not None
                        else make_response(fault.status, {"error": "injected fault", "status": fault.status}))
        elif vendor is not None and vendor.cors and request.method == "OPTIONS" \
                and "Access-Control-Request-Method" in request.headers:
            response = _cors_preflight(request)
        else:
            response = await handler(request)
    except ApiError as exc:
        response = exc.response()
    except sqlite3.IntegrityError as exc:
        # a write whose tenant vanished under it (a reset raced the request): the answer the
        # request would have had a moment later; nothing of it was written
        refusal = state.tenant_refusal
        if "FOREIGN KEY" not in str(exc) or vendor is None:
            log.exception("unhandled error in %s %s", request.method, request.path)
            response = (vendor.generic_error(request, 500).response() if vendor is not None
                        else make_response(500, {"error": "internal error in the emulator"}))
        else:  # without a tenant refusal: what the vendor answers for an object that is not there
            if refusal is not None and not isinstance(refusal, ApiError):
                refusal = refusal()  # a function making the error (Vendor.tenant)
            response = (refusal or vendor.generic_error(request, 404)).response()
    except web.HTTPException as exc:
        unmatched = request.match_info.route.name == UNMATCHED
        if vendor is None:
            response = _not_found(request, exc.status) if unmatched and exc.status in (404, 405) \
                else make_response(exc.status, {"error": exc.reason})
        elif unmatched and exc.status in (404, 405):
            response = vendor.unknown_route(request, exc.status).response()
        else:
            response = vendor.generic_error(request, exc.status).response()
    except asyncio.CancelledError:
        raise
    except ConnectionError:  # the client went away mid-request: nobody to answer, not our error
        log.debug("client disconnected during %s %s", request.method, request.path)
        if state.new_tenants:
            await _settle_new_tenants(request, state, False)
        if ctx.journal.size > 0:
            _record(ctx, request, None, vendor, started, fault, state.body, len(headers_seen), disconnected=True)
        return web.Response(status=400)  # never delivered: the connection is gone
    except Exception as exc:
        if storage_failure(exc):  # the disk, not the request: the store logged the cause once
            log.warning("%s %s not written: %s", request.method, request.path, exc)
            response = (vendor.generic_error(request, 503).response() if vendor is not None
                        else make_response(503, {"error": f"not written: {exc}"}))
        else:
            log.exception("unhandled error in %s %s", request.method, request.path)
            response = (vendor.generic_error(request, 500).response() if vendor is not None
                        else make_response(500, {"error": "internal error in the emulator"}))
    if state.new_tenants:
        await _settle_new_tenants(request, state, response.status < 400)
    has_body = request.body_exists
    if has_body and not request.content.is_eof() and state.body is None \
            and (request.content_length is None or request.content_length > JOURNAL_READ_LIMIT):
        response.force_close()  # a refused body is not read to its end: close, keep nothing
    headers = response.headers
    headers["X-Device-Emulator"] = __version__  # every answer the app gives says who gave it
    if state.response_headers:
        headers.update(state.response_headers)
    if vendor is not None and vendor.cors:
        headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "*")
        headers["Vary"] = "Origin"
    if not control and ctx.journal.size > 0:
        body = state.body
        if body is None and has_body and request.content_length is not None \
                and request.content_length <= JOURNAL_READ_LIMIT:  # a small body refused unread: shown
            body = await read_body_prefix(request, JOURNAL_READ_LIMIT)
        _record(ctx, request, response, vendor, started, fault, body, len(headers_seen))
    return response


JOURNAL_READ_LIMIT = 64 * 1024


async def _settle_new_tenants(request: web.Request, state: RequestState, accepted: bool) -> None:
    """A refused request changes nothing: a tenant open mode created for it is removed once every
    request using it is answered and none was accepted."""
    tenants, state.new_tenants = state.new_tenants or [], None
    for tenant in tenants:
        try:
            await tenant.settle(request, accepted)
        except Exception:
            log.exception("could not remove the tenant created for a refused %s %s", request.method, request.path)


def _host_name(value: str) -> str:
    """``Host``/origin authority -> lower-case host name without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        value = value.rsplit(":", 1)[0]
    return value.rstrip(".")


def _loopback_or_local(name: str) -> bool:
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(name: str, allowed: Iterable[str]) -> bool:
    """IP literals, ``localhost``, ``*.localhost`` and single-label names (docker-compose
    service names) are this machine's or its network's; a multi-label domain name only when
    ``--allowed-host`` names it (``*.example.com`` matches its subdomains): a DNS-rebinding page
    reaches the emulator under its own domain name."""
    if not name or "." not in name or name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    for pattern in allowed:
        pattern = pattern.strip().lower().rstrip(".")
        if name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


def browser_guard(request: web.Request, allowed_hosts: Iterable[str]) -> web.Response | None:
    """The control plane refuses what only a browser tricked by another site sends: a foreign
    ``Origin`` (CSRF: a text/plain cross-origin POST needs no preflight) and a ``Host`` that is
    a domain name nobody allowed (DNS rebinding). Vendor routes stay open to any Host/Origin."""
    host = request.headers.get("Host", "")
    if not host_allowed(_host_name(host), allowed_hosts):
        return make_response(421, {"error": f"Host {host[:200]!r} is not allowed for the control plane; "
                                            "start the emulator with --allowed-host NAME to allow it"})
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin.strip()) if origin.strip() != "null" else None
        same = parts is not None and parts.netloc.lower() == host.strip().lower()
        if not same and not (parts is not None and parts.scheme in ("http", "https")
                             and _loopback_or_local(_host_name(parts.netloc))):
            return make_response(403, {"error": f"cross-origin request from {origin[:200]!r} refused: "
                                                "the control plane answers only its own pages and loopback origins"})
    return None


def _record(ctx: Context, request: web.Request, response: web.StreamResponse | None,
            vendor: Vendor | None, started: float, fault: FaultRule | None, body: bytes | None,
            headers_size: int, disconnected: bool = False) -> None:
    """One ring-buffer append. ``body`` is the request body the handler read (kept on the request
    by :func:`emulator.httputil.read_body`); ``response`` is None when there was no answer (dropped
    by a fault, or the client went away); ``headers_size`` is what :func:`header_bytes` measured."""
    resp_body = getattr(response, "body", None) if response is not None else None
    extra: dict[str, Any] | None = None
    if fault is not None or disconnected:
        extra = {}
        if fault is not None:
            extra["fault"] = fault.id
            if response is None:
                extra["dropped"] = True
        if disconnected:
            extra["disconnected"] = True
    ctx.journal.record(
        request,
        ctx.clock.now(),
        vendor.name if vendor is not None else None,
        response.status if response is not None else None,
        (time.perf_counter() - started) * 1000,
        headers_size,
        body,
        resp_body if isinstance(resp_body, (bytes, str)) else None,
        extra,
    )
