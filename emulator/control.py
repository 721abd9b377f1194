"""The control plane under ``/_emulator``: health, reset, state, fixtures, journal,
options and clock. Its answers are JSON; its errors are ``{"error": ..., "path"?: ...}``."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from aiohttp import web

from . import __version__
from .context import CONTEXT, Context
from .control_doc import with_responses
from .deliveries_api import ledger_routes
from .errors import control_error, json_response
from .faults import FaultError
from .fixtures import FixtureError
from .clock import MAX_EPOCH
from .httputil import BodyError, bounded_int, read_json
from .openapi import build_openapi, render_html
from .storage import browse_devices, browse_tenants, health_probe
from .vendor import Route, Vendor

def _ctx(request: web.Request) -> Context:
    return request.app[CONTEXT]


async def _json_body(request: web.Request) -> Any:
    try:
        return await read_json(request, _ctx(request).config.max_body_bytes)
    except BodyError as exc:
        if exc.path is not None:
            raise control_error(400, exc.detail, exc.path) from None
        raise control_error(400, f"body must be a JSON document ({exc.kind})", "$") from None


def _vendor_param(request: web.Request) -> str | None:
    vendor = request.query.get("vendor")
    if vendor is not None and vendor not in _ctx(request).vendors:
        raise control_error(400, f"unknown vendor {vendor!r}; known: {', '.join(_ctx(request).vendors)}")
    return vendor


async def health(request: web.Request) -> web.Response:
    """``ok`` only while writes work: after a write failed for lack of space (or its file
    vanished) it says why with a 503, probing with one tiny write until space returns."""
    ctx = _ctx(request)
    problem = ctx.store.health()
    if problem is not None and ctx.store.file_backed and ctx.store.file_present():
        try:
            await ctx.store.write(health_probe)
        except Exception:
            pass
        problem = ctx.store.health()
    body: dict[str, Any] = {
        "status": "ok" if problem is None else "error",
        "version": __version__,
        "vendors": list(ctx.vendors),
        "db": ctx.store.path,
        "auth": ctx.options.auth,
        "profiles": {name: ctx.options.values[name]["profile"]
                     for name in ctx.vendors if "profile" in ctx.options.values[name]},
        "proxy": ctx.proxy_url,
    }
    if problem is not None:
        body["error"] = problem
    return json_response(body, 200 if problem is None else 503)


async def ca_pem(request: web.Request) -> web.Response:
    """The HTTPS proxy's CA certificate, to trust (``device-api-emulator env`` fetches it)."""
    ca = _ctx(request).ca
    if ca is None:
        raise control_error(404, "the HTTPS proxy is off, so there is no CA")
    return web.Response(body=ca.cert_pem, content_type="text/plain")  # PEM is text; every client reads it


async def reset(request: web.Request) -> web.Response:
    vendor = _vendor_param(request)
    await _ctx(request).reset(vendor)
    return json_response({"status": "ok", "reset": vendor or "all"})


async def get_state(request: web.Request) -> web.Response:
    vendor = _vendor_param(request)
    return json_response(_ctx(request).export(vendor))


async def put_state(request: web.Request) -> web.Response:
    doc = await _json_body(request)
    try:
        await _ctx(request).replace(doc)
    except FixtureError as exc:
        raise control_error(400, exc.message, exc.path) from None
    return json_response({"status": "ok"})


async def post_fixtures(request: web.Request) -> web.Response:
    doc = await _json_body(request)
    try:
        await _ctx(request).merge(doc)
    except FixtureError as exc:
        raise control_error(400, exc.message, exc.path) from None
    return json_response({"status": "ok"})


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.startswith("-") and bounded_int(raw[1:], 1) is not None:
        raise control_error(400, f"{name} must not be negative")
    value = bounded_int(raw, 2**63)
    if value is None:
        raise control_error(400, f"{name} must be an integer")
    return value


async def get_requests(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    entries = ctx.journal.query(
        vendor=request.query.get("vendor") or None,
        method=request.query.get("method") or None,
        path=request.query.get("path") or None,
        status=_int_param(request, "status"),
        limit=_int_param(request, "limit"),
    )
    return json_response({"requests": entries, "count": len(entries), "capacity": ctx.journal.size})


async def delete_requests(request: web.Request) -> web.Response:
    _ctx(request).journal.clear(_vendor_param(request))
    return json_response({"status": "ok"})


#: the dashboard's device pages: at most this many rows at once
MAX_PAGE = 500


def _browsable(request: web.Request) -> Vendor:
    ctx = _ctx(request)
    name = request.query.get("vendor")
    vendor = ctx.vendors.get(name or "")
    if vendor is None or vendor.browse is None:
        known = ", ".join(n for n, v in ctx.vendors.items() if v.browse is not None)
        raise control_error(400, f"vendor must be one of {known}")
    return vendor


def _page_param(request: web.Request, name: str, default: int, cap: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    value = bounded_int(raw, cap)
    if value is None:
        raise control_error(400, f"{name} must be a non-negative integer")
    return value


async def get_tenants(request: web.Request) -> web.Response:
    vendor = _browsable(request)
    assert vendor.browse is not None
    tenants = _ctx(request).store.read(browse_tenants, vendor.browse)
    return json_response({"vendor": vendor.name, "label": vendor.browse.device_label, "tenants": tenants})


async def get_devices(request: web.Request) -> web.Response:
    """One page of a tenant's devices (``offset``, ``limit`` up to 500, ``search`` in the ids)."""
    vendor = _browsable(request)
    assert vendor.browse is not None
    tenant = request.query.get("tenant")
    if not tenant:
        raise control_error(400, "tenant is required")
    offset = _page_param(request, "offset", 0, 2**62)
    limit = _page_param(request, "limit", 50, MAX_PAGE)
    search = request.query.get("search", "")[:200]
    page = _ctx(request).store.read(browse_devices, vendor.browse, tenant, search, offset, limit)
    if page is None:
        raise control_error(404, f"no {vendor.name} tenant {tenant!r}")
    return json_response({"vendor": vendor.name, "tenant": tenant, "offset": offset, "limit": limit, **page})


async def get_options(request: web.Request) -> web.Response:
    return json_response(_ctx(request).options.describe())


async def patch_options(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    doc = await _json_body(request)
    try:
        ctx.options.update(doc)
    except ValueError as exc:
        raise control_error(400, str(exc)) from None
    return json_response(ctx.options.describe())


async def get_clock(request: web.Request) -> web.Response:
    return json_response(_ctx(request).clock.describe())


MIN_CLOCK, MAX_CLOCK = 0.0, MAX_EPOCH
CLOCK_USAGE = ('expected exactly one of {"advance": seconds}, {"set": epoch_seconds}, '
               '{"freeze": true|false}, {"reset": true}')


async def post_clock(request: web.Request) -> web.Response:
    """``{"advance": s}``, ``{"set": epoch_s}``, ``{"freeze": bool}`` or ``{"reset": true}``."""
    ctx = _ctx(request)
    doc = await _json_body(request)
    if not isinstance(doc, dict) or len(doc) != 1 or next(iter(doc)) not in ("advance", "set", "freeze", "reset"):
        raise control_error(400, CLOCK_USAGE)
    (key, value), = doc.items()
    if key in ("freeze", "reset") and not isinstance(value, bool):
        raise control_error(400, f"{key} must be true or false")
    if key == "reset":
        if value:
            ctx.clock.reset()
    elif key == "freeze":
        ctx.clock.freeze(value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise control_error(400, f"{key} must be a number of seconds")
    else:
        try:
            target = ctx.clock.now() + float(value) if key == "advance" else float(value)
        except OverflowError:  # an integer of hundreds of digits
            target = math.inf
        if not MIN_CLOCK <= target <= MAX_CLOCK:
            raise control_error(400, f"{key} would put the clock outside the years 1970 to 8999")
        if key == "advance":
            ctx.clock.advance(float(value))
        else:
            ctx.clock.set(float(value))
    return json_response(ctx.clock.describe())


async def post_fault(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    doc = await _json_body(request)
    try:
        rule = ctx.faults.add(doc, ctx.vendors)
    except FaultError as exc:
        raise control_error(400, str(exc)) from None
    return json_response(rule.describe(), 201)


async def get_faults(request: web.Request) -> web.Response:
    rules = [r.describe() for r in _ctx(request).faults.rules]
    return json_response({"faults": rules, "count": len(rules)})


async def delete_faults(request: web.Request) -> web.Response:
    _ctx(request).faults.clear(_vendor_param(request))
    return json_response({"status": "ok"})


async def delete_fault(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    rule_id = bounded_int(raw, 2**63)
    if rule_id is None or not _ctx(request).faults.remove(rule_id):
        raise control_error(404, f"no fault rule {raw[:40]}")
    return json_response({"status": "ok"})


async def seed_faults(request: web.Request) -> web.Response:
    doc = await _json_body(request)
    seed = doc.get("seed") if isinstance(doc, dict) else None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise control_error(400, 'expected {"seed": <integer>}')
    _ctx(request).faults.seed(seed)
    return json_response({"status": "ok", "seed": seed})


def _openapi(request: web.Request) -> dict[str, Any]:
    """The document, with ``servers`` naming the origin this reader used."""
    ctx = _ctx(request)
    if ctx.openapi is None:  # the route table is fixed once the app is built
        ctx.openapi = build_openapi(ctx)
    return {**ctx.openapi, "servers": [{"url": f"{request.scheme}://{request.host}"}]}


async def openapi_document(request: web.Request) -> web.Response:
    return json_response(_openapi(request))


async def api_page(request: web.Request) -> web.Response:
    """The OpenAPI document rendered for people, with nothing loaded from elsewhere."""
    resp = web.Response(text=render_html(_openapi(request)))
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    return resp


DASHBOARD_FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
_dashboard_cache: dict[str, bytes] = {}


def _dashboard_file(name: str) -> web.Response:
    if name not in _dashboard_cache:
        _dashboard_cache[name] = (Path(__file__).with_name("dashboard") / name).read_bytes()
    resp = web.Response(body=_dashboard_cache[name])
    resp.headers["Content-Type"] = DASHBOARD_FILES[name]
    resp.headers["Cache-Control"] = "no-cache"
    return resp


async def dashboard(request: web.Request) -> web.Response:
    return _dashboard_file("index.html")


async def dashboard_asset(request: web.Request) -> web.Response:
    name = request.match_info["file"]
    if name not in DASHBOARD_FILES:
        raise control_error(404, f"no dashboard file {name}")
    return _dashboard_file(name)


def control_routes(ctx: Context) -> list[Route]:
    p = "/_emulator"
    return with_responses([
        Route("GET", f"{p}/health", health, "Liveness, version, vendors, database"),
        Route("GET", f"{p}/ca.pem", ca_pem, "The HTTPS proxy's CA certificate (PEM)"),
        Route("POST", f"{p}/reset", reset, "Wipe state and reload the start-up fixtures (?vendor=)"),
        Route("GET", f"{p}/state", get_state, "The whole state as a fixture document (?vendor=)"),
        Route("PUT", f"{p}/state", put_state, "Replace the whole state, atomically"),
        Route("POST", f"{p}/fixtures", post_fixtures, "Merge a fixture document into the state"),
        Route("GET", f"{p}/tenants", get_tenants, "A vendor's tenants with their device counts (?vendor=)"),
        Route("GET", f"{p}/devices", get_devices,
              "One page of a tenant's devices (?vendor=&tenant=&search=&offset=&limit=)"),
        Route("GET", f"{p}/requests", get_requests, "Request journal, newest first"),
        Route("DELETE", f"{p}/requests", delete_requests, "Clear the request journal (?vendor=)"),
        Route("GET", f"{p}/options", get_options, "Current options, with defaults and choices"),
        Route("PATCH", f"{p}/options", patch_options, "Change options at run time (reset restores them)"),
        Route("GET", f"{p}/clock", get_clock, "The emulator clock"),
        Route("POST", f"{p}/clock", post_clock, "Move the emulator clock"),
        Route("POST", f"{p}/faults", post_fault, "Add a fault rule"),
        Route("GET", f"{p}/faults", get_faults, "List fault rules with how often each fired"),
        Route("DELETE", f"{p}/faults", delete_faults, "Remove every fault rule (?vendor=)"),
        Route("DELETE", f"{p}/faults/{{id}}", delete_fault, "Remove one fault rule"),
        Route("POST", f"{p}/faults/seed", seed_faults, "Seed the probability draws"),
        *ledger_routes(p),
        Route("GET", f"{p}/openapi.json", openapi_document, "This document"),
        Route("GET", f"{p}/api", api_page, "This document, rendered for people",
              doc={"responses": {"200": {"description": "an HTML page", "content_type": "text/html",
                                          "schema": {"type": "string"}}}}),
        Route("GET", f"{p}/", dashboard, "The web dashboard", doc={"responses": {"200": "an HTML page"}}),
        Route("GET", f"{p}/dashboard/{{file}}", dashboard_asset, "The dashboard's script and style"),
    ])
