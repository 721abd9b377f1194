"""The delivery ledger's control-plane routes: ``GET /_emulator/deliveries``,
``GET /_emulator/deliveries/explain`` and ``POST /_emulator/tokens/invalidate``.

Errors have the control plane's shape, ``{"error": ..., "path"?: ...}``; every refusal is a
400 or 404 and changes nothing. The rows themselves are kept by :mod:`emulator.deliveries`."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from . import deliveries
from .context import CONTEXT, Context
from .errors import control_error, json_response
from .httputil import BodyError, read_json
from .vendor import Route, Vendor

#: the most rows one listing returns, and how many it returns when ``limit`` is not given
MAX_LIMIT, DEFAULT_LIMIT = 1000, 100
#: the longest ``reason`` a token invalidation may carry
MAX_REASON = 200
DEFAULT_REASON = "Unregistered"
#: the largest invalidation body read (four short strings)
MAX_INVALIDATE_BYTES = 64 * 1024


def _ctx(request: web.Request) -> Context:
    return request.app[CONTEXT]


def _text(request: web.Request, name: str, *, required: bool = False) -> str | None:
    value = request.query.get(name)
    if value is None or value == "":
        if required:
            raise control_error(400, f"{name} is required")
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise control_error(400, f"{name} is not valid Unicode") from None
    return value


def _ledger_vendor(ctx: Context, name: str | None, path: str | None = None) -> Vendor:
    if name is None:
        raise control_error(400, "vendor is required", path)
    vendor = ctx.vendors.get(name)
    if vendor is None:
        raise control_error(400, f"unknown vendor {name!r}; known: {', '.join(ctx.vendors)}", path)
    if not vendor.targets_devices:
        ledgered = [n for n, v in ctx.vendors.items() if v.targets_devices]
        raise control_error(400, f"vendor {name!r} does not deliver to devices; these do: "
                          f"{', '.join(ledgered) or 'none'}", path)
    return vendor


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # ASCII digits only: int() would also take "٣", "1_0" and " 5 "
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 5 or not 1 <= int(raw) <= MAX_LIMIT:
        raise control_error(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


async def list_deliveries(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    vendor = _text(request, "vendor")
    if vendor is not None and vendor not in ctx.vendors:
        raise control_error(400, f"unknown vendor {vendor!r}; known: {', '.join(ctx.vendors)}")
    status = _text(request, "status")
    if status is not None and status not in deliveries.STATUSES:
        raise control_error(400, f"status must be one of {', '.join(deliveries.STATUSES)}")
    filters = {name: _text(request, name) for name in ("tenant", "publish_id", "device_id")}
    limit = _limit(request)
    rows = ctx.store.read(lambda conn: deliveries.query(conn, vendor=vendor, status=status,
                                                        limit=limit, **filters))
    return json_response({"deliveries": rows})


async def explain(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    vendor = _ledger_vendor(ctx, _text(request, "vendor"))
    publish_id = _text(request, "publish_id", required=True)
    device_id = _text(request, "device_id", required=True)
    tenant = _text(request, "tenant")
    assert publish_id is not None and device_id is not None

    def read(conn):
        found_tenant = deliveries.publish_tenant(conn, vendor.name, publish_id, tenant)
        if found_tenant is None:
            where = f" in tenant {tenant!r}" if tenant is not None else ""
            raise control_error(404, f"no publish {publish_id!r} of {vendor.name}{where}")
        row = deliveries.find(conn, vendor.name, found_tenant, publish_id, device_id)
        if row is not None:
            return {"delivered": row["status"] == "delivered", "reason": row["reason"], "delivery": row}
        if deliveries.trimmed(conn, vendor.name, found_tenant, publish_id):
            raise control_error(404, f"the ledger no longer holds every delivery of publish {publish_id!r}: it "
                              f"keeps the newest {deliveries.size(conn)} (--deliveries-size)")
        reason = vendor.explain_miss(conn, found_tenant, publish_id, device_id)
        if reason is None:
            raise control_error(404, f"no device {device_id!r} in {vendor.name} tenant {found_tenant!r}")
        return {"delivered": False, "reason": reason, "delivery": None}

    return json_response(ctx.store.read(read))


def _body_text(doc: dict[str, Any], key: str, *, limit: int = 1000) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise control_error(400, f"{key} must be a non-empty string", f"$.{key}")
    if len(value) > limit:
        raise control_error(400, f"{key} must be at most {limit} characters", f"$.{key}")
    return value


async def invalidate_token(request: web.Request) -> web.Response:
    ctx = _ctx(request)
    try:
        doc = await read_json(request, min(MAX_INVALIDATE_BYTES, ctx.config.max_body_bytes), require_object=True)
    except BodyError as exc:
        if exc.path is not None:
            raise control_error(400, exc.detail, exc.path) from None
        raise control_error(400, f"body must be a JSON object ({exc.kind})", "$") from None
    unknown = sorted(set(doc) - {"vendor", "tenant", "device_id", "reason"})
    if unknown:
        raise control_error(400, f"unknown field {unknown[0]!r}; expected vendor, tenant, device_id, reason",
                     f"$.{unknown[0]}")
    vendor = _ledger_vendor(ctx, _body_text(doc, "vendor", limit=100), "$.vendor")
    tenant, device_id = _body_text(doc, "tenant"), _body_text(doc, "device_id")
    reason = _body_text(doc, "reason", limit=MAX_REASON) if "reason" in doc else DEFAULT_REASON
    now = ctx.clock.iso()

    def write(conn):
        if not vendor.invalidate_token(conn, tenant, device_id, reason):
            raise control_error(404, f"no device {device_id!r} in {vendor.name} tenant {tenant!r}")
        deliveries.mark_dead_token(conn, vendor=vendor.name, tenant=tenant, device_id=device_id,
                                   reason=reason, now=now)

    await ctx.store.write(write)
    return json_response({"vendor": vendor.name, "tenant": tenant, "device_id": device_id,
                          "reason": reason, "time": now})


_Q = "query"
_DELIVERY = {
    "type": "object",
    "required": ["id", "vendor", "tenant", "publish_id", "device_id", "platform", "status", "reason",
                 "matched_by", "payload", "time"],
    "properties": {
        "id": {"type": "integer"}, "vendor": {"type": "string"}, "tenant": {"type": "string"},
        "publish_id": {"type": "string"}, "device_id": {"type": "string"},
        "platform": {"type": ["string", "null"]},
        "status": {"enum": list(deliveries.STATUSES)},
        "reason": {"type": "string"},
        "matched_by": {"type": ["object", "null"]},
        "payload": {},
        "time": {"type": "string", "format": "date-time"},
    },
}


def _param(name: str, description: str, *, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": _Q, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


LIST_DOC = {
    "parameters": [
        _param("vendor", "only this vendor's deliveries"),
        _param("tenant", "only this tenant's (Beams instance id, JPush app key, Capgo app id)"),
        _param("publish_id", "only this publish's"),
        _param("device_id", "only this device's (a device's delivery timeline)"),
        _param("status", "only delivered or only failed ones", enum=list(deliveries.STATUSES)),
        _param("limit", f"at most this many (default {DEFAULT_LIMIT})", type="integer", minimum=1,
               maximum=MAX_LIMIT),
    ],
    "responses": {"200": _json("deliveries, newest first", {
        "type": "object", "required": ["deliveries"],
        "properties": {"deliveries": {"type": "array", "items": _DELIVERY}}})},
}
EXPLAIN_DOC = {
    "parameters": [
        _param("vendor", "the vendor that accepted the publish", required=True),
        _param("publish_id", "the publish (Beams publishId, JPush msg_id, Capgo '<app_id>:<version>')",
               required=True),
        _param("device_id", "any device of the tenant, selected by the audience or not", required=True),
        _param("tenant", "the tenant, when several share the publish id"),
    ],
    "responses": {
        "200": _json("whether the publish reached the device, and why (not)", {
            "type": "object", "required": ["delivered", "reason", "delivery"],
            "properties": {"delivered": {"type": "boolean"}, "reason": {"type": "string"},
                           "delivery": {"oneOf": [_DELIVERY, {"type": "null"}]}}}),
        "404": "unknown publish or device",
    },
}
INVALIDATE_DOC = {
    "requestBody": {
        "type": "object", "required": ["vendor", "tenant", "device_id"], "additionalProperties": False,
        "properties": {
            "vendor": {"type": "string"}, "tenant": {"type": "string"}, "device_id": {"type": "string"},
            "reason": {"type": "string", "maxLength": MAX_REASON, "default": DEFAULT_REASON,
                       "description": "as the push service reports it: Unregistered, BadDeviceToken, "
                                      "UNREGISTERED"},
        },
    },
    "responses": {
        "200": _json("the dead token", {
            "type": "object", "required": ["vendor", "tenant", "device_id", "reason", "time"],
            "properties": {k: {"type": "string"} for k in ("vendor", "tenant", "device_id", "reason", "time")}}),
        "404": "unknown device",
    },
}


def ledger_routes(prefix: str) -> list[Route]:
    return [
        Route("GET", f"{prefix}/deliveries", list_deliveries, "Delivery ledger, newest first", doc=LIST_DOC),
        Route("GET", f"{prefix}/deliveries/explain", explain,
              "Did a publish reach a device, with which payload, and if not, why not", doc=EXPLAIN_DOC),
        Route("POST", f"{prefix}/tokens/invalidate", invalidate_token,
              "Mark a device's push token dead (as APNs or FCM would report it)", doc=INVALIDATE_DOC),
    ]
