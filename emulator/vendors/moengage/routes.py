"""The four Data API routes and the checks they share, in this order (docs/vendors/moengage.md):
auth header -> app_id present -> username known -> app_id known -> app_id == username ->
MOE-APPKEY -> password -> account state -> Content-Type -> size -> JSON -> rate limit ->
fields -> write -> 200."""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from aiohttp import web

from ...errors import json_response
from ...httputil import (AuthHeaderError, BodyError, add_response_headers, media_type, parse_basic, parse_json,
                         read_body)
from ...openapi import closed_object, success
from ...ratelimit import Decision
from ...vendor import Route
from . import rules, storage
from .errors import (ACCOUNT_STATES, APP_ID_INVALID, APP_ID_REQUIRED, APP_KEY_MISMATCH, EMPTY_BODY,
                     FAMILIES, MALFORMED_JSON, MISSING_CONTENT_TYPE, NOT_JSON_DOCUMENT, SECRET_NOT_SET,
                     SUCCESS_MESSAGE, Family, Invalid, auth_error, fail, request_id)

if TYPE_CHECKING:  # pragma: no cover
    from . import MoEngage

WINDOW_SECONDS = 60

#: rate-limit bucket -> the option holding its per-minute limit
BUCKET_OPTIONS = {
    "device": "device_rate_limit",
    "customer": "customer_rate_limit",
    "event": "event_rate_limit",
    "bulk_users": "bulk_user_rate_limit",
    "bulk_events": "bulk_event_rate_limit",
}


@dataclass(frozen=True)
class Endpoint:
    family: Family
    #: body -> [(bucket, cost)]
    costs: Callable[[Any], list[tuple[str, int]]]
    #: (vendor, app_id, body, receipt) -> write function arguments for Store.write
    prepare: Callable[[MoEngage, str, dict, storage.Receipt], tuple]
    body_limit_option: str = "max_body_bytes"


def _rules(vendor: MoEngage) -> rules.Rules:
    """The options that change validation, read once per request."""
    return rules.Rules(device_id_fallback=vendor.option("device_id_fallback"),
                       strict_platform_case=vendor.option("strict_platform_case"))


def _prepare_device(vendor: MoEngage, app_id: str, body: dict, receipt: storage.Receipt) -> tuple:
    update = rules.parse_device(body, FAMILIES["device"], _rules(vendor))
    return (storage.apply_device, app_id, update, receipt, vendor.option("strict_customer"))


def _prepare_customer(vendor: MoEngage, app_id: str, body: dict, receipt: storage.Receipt) -> tuple:
    return (storage.apply_customer, app_id, rules.parse_customer(body, FAMILIES["customer"]), receipt)


def _prepare_event(vendor: MoEngage, app_id: str, body: dict, receipt: storage.Receipt) -> tuple:
    return (storage.apply_events, app_id, rules.parse_event(body, FAMILIES["event"]), receipt)


def _prepare_bulk(vendor: MoEngage, app_id: str, body: dict, receipt: storage.Receipt) -> tuple:
    return (storage.apply_bulk, app_id, rules.parse_bulk(body), _rules(vendor), receipt)


def _bulk_costs(body: Any) -> list[tuple[str, int]]:
    users, events = rules.bulk_costs(body)
    return [("bulk_users", users), ("bulk_events", events)]


ENDPOINTS = {
    "device": Endpoint(FAMILIES["device"], lambda body: [("device", 1)], _prepare_device),
    "customer": Endpoint(FAMILIES["customer"], lambda body: [("customer", 1)], _prepare_customer),
    "event": Endpoint(FAMILIES["event"], lambda body: [("event", rules.event_count(body))], _prepare_event),
    "transition": Endpoint(FAMILIES["transition"], _bulk_costs, _prepare_bulk, "max_bulk_body_bytes"),
}

#: the buckets each endpoint counts against (cost-free form, for headers)
ENDPOINT_BUCKETS = {name: [bucket for bucket, _ in endpoint.costs({})] for name, endpoint in ENDPOINTS.items()}

_BODY_DOC = {
    "device": {"type": "object", "required": ["type", "customer_id", "device_id", "attributes"],
               "properties": {"type": {"const": "device"}, "customer_id": {"type": "string"},
                              "device_id": {"type": "string"},
                              "attributes": {"type": "object", "required": ["platform", "push_id"]}}},
    "customer": {"type": "object", "required": ["type", "customer_id"],
                 "properties": {"type": {"const": "customer"}, "customer_id": {"type": "string"},
                                "attributes": {"type": "object"}, "update_existing_only": {"type": "boolean"}}},
    "event": {"type": "object", "required": ["type", "customer_id", "actions"],
              "properties": {"type": {"const": "event"}, "customer_id": {"type": "string"},
                             "actions": {"type": "array", "minItems": 1, "items": {"type": "object"}}}},
    "transition": {"type": "object", "required": ["type", "elements"],
                   "properties": {"type": {"const": "transition"}, "elements": {"type": "array", "minItems": 1,
                                                                                "items": {"type": "object"}}}},
}

#: every route's success body; ``request_id`` (8 letters) only with option success_request_id
SUCCESS_BODY = closed_object({"status": {"const": "success"}, "message": {"const": SUCCESS_MESSAGE},
                              "request_id": {"type": "string", "pattern": "^[A-Za-z]{8}$"}},
                             optional=("request_id",))

_SUMMARIES = {
    "device": "Track Device: create or update a device of an existing customer",
    "customer": "Track User: create or update a customer",
    "event": "Track Event: record a customer's actions",
    "transition": "Bulk Import: customer, device and event elements applied in order",
}




class Routes:
    """The route table and its handlers, bound to the vendor (options, context)."""

    def __init__(self, vendor: MoEngage) -> None:
        self.vendor = vendor
        self.ctx = vendor.ctx

    def table(self) -> list[Route]:
        out = []
        for name, endpoint in ENDPOINTS.items():
            out.append(Route(
                "POST", f"/v1/{name}/{{app_id}}", self._handler(endpoint), _SUMMARIES[name],
                # also /v1/<name> and /v1/<name>/ (app_id then only in the query, or missing)
                pattern=f"/v1/{name}{{app_id:(/[^/]*)?}}",
                doc={"parameters": [
                    {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "app_id", "in": "query", "required": False, "schema": {"type": "string"}},
                    {"name": "MOE-APPKEY", "in": "header", "required": False, "schema": {"type": "string"}}],
                    "requestBody": _BODY_DOC[name],
                    "responses": {"200": success(SUCCESS_BODY, "accepted (stored)"), "400": "invalid request",
                                  "401": "auth", "403": "account state", "409": "app_id mismatch", "413": "too large",
                                  "415": "not JSON", "429": "rate limited"}},
            ))
        return out

    def _handler(self, endpoint: Endpoint):
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, endpoint)
        return handle

    # -- the pipeline -------------------------------------------------------------------------
    async def _serve(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        self._show_full_limit(request, endpoint)
        app_id = await self._authenticate(request, endpoint)
        body = await self._json_body(request, endpoint)
        self._rate_limit(request, endpoint, app_id, endpoint.costs(body))
        receipt = storage.Receipt(request_id(), self.ctx.clock.iso())
        try:
            fn, *args = endpoint.prepare(self.vendor, app_id, body, receipt)
        except Invalid as problem:
            raise problem.api_error() from None
        await self.ctx.store.write(fn, *args)
        answer: dict[str, str] = {key: SUCCESS_BODY["properties"][key]["const"] for key in ("status", "message")}
        if self.vendor.option("success_request_id"):
            answer["request_id"] = receipt.request_id
        return json_response(answer)

    async def _authenticate(self, request: web.Request, endpoint: Endpoint) -> str:
        """Everything up to the body: credentials, app_id, workspace, key, account state.
        Returns the workspace id."""
        user, password = self._credentials(request)
        app_ids = self._app_ids(request)
        # open mode creates the workspace, but only for a request that names it consistently
        workspace = await self.vendor.tenant(
            request, storage.get_workspace, partial(storage.create_workspace, api_key=password), user,
            refusal=partial(auth_error, "unknown_user"), creatable=all(app_id == user for app_id in app_ids))
        for app_id in app_ids:
            if app_id != user and self.ctx.store.read(storage.get_workspace, app_id) is None:
                raise fail(400, *APP_ID_INVALID)
        if any(app_id != user for app_id in app_ids):
            raise fail(409, *APP_KEY_MISMATCH)
        self._show_counters(request, endpoint, user)
        moe_appkey = request.headers.get("MOE-APPKEY")
        if moe_appkey is not None and moe_appkey != user:
            raise auth_error("moe_appkey")
        api_key, status = workspace
        if api_key is None:
            raise fail(409, *SECRET_NOT_SET)
        if not hmac.compare_digest(password.encode(), api_key.encode()):
            raise auth_error("wrong_password")
        refusal = ACCOUNT_STATES.get(status)
        if refusal is not None:
            raise fail(*refusal)
        return user

    def _credentials(self, request: web.Request) -> tuple[str, str]:
        header = request.headers.get("Authorization")
        if header is None:
            raise auth_error("missing")
        try:
            user, password = parse_basic(header)
        except AuthHeaderError as exc:
            raise auth_error({"missing": "empty", "empty": "empty", "wrong_scheme": "wrong_scheme"}
                             .get(exc.kind, "undecodable")) from None
        if not user:
            raise auth_error("no_user")
        if not password:
            raise auth_error("no_password")
        return user, password

    @staticmethod
    def _app_ids(request: web.Request) -> list[str]:
        """Every app_id the request names (path, then ``?app_id=``); at least one."""
        path_value = request.match_info.get("app_id", "").lstrip("/")
        given = [v for v in (path_value, *request.query.getall("app_id", [])) if v]
        if not given:
            raise fail(400, *APP_ID_REQUIRED)
        return given

    async def _json_body(self, request: web.Request, endpoint: Endpoint) -> dict:
        family = endpoint.family
        kind = media_type(request)
        if kind is None or kind == "":
            raise fail(400, *MISSING_CONTENT_TYPE)
        if kind != "application/json":
            raise fail(415, *family.media_type)
        try:
            data = await read_body(request, self.vendor.option(endpoint.body_limit_option))
            return parse_json(data, require_object=True)
        except BodyError as exc:
            if exc.kind == "too_large":
                raise fail(413, *family.too_large) from None
            if exc.kind == "empty":
                raise fail(400, *EMPTY_BODY) from None
            if exc.kind == "not_object":
                raise fail(400, *NOT_JSON_DOCUMENT) from None
            raise fail(400, *MALFORMED_JSON) from None

    # -- rate limits --------------------------------------------------------------------------
    # Every answer, success or refusal, carries the x-ratelimit-* counters of the tightest bucket
    # the request counts against, as far as the request got: before its workspace is known the
    # endpoint's full limit, then the workspace's counters, then those after its own charge.

    def _limit(self, bucket: str) -> int:
        return self.vendor.option(BUCKET_OPTIONS[bucket])

    def _key(self, app_id: str, bucket: str) -> tuple[str, str, str]:
        return (self.vendor.name, app_id, bucket)

    def _show_full_limit(self, request: web.Request, endpoint: Endpoint) -> None:
        if self.vendor.option("rate_limit"):
            limit = self._limit(ENDPOINT_BUCKETS[endpoint.family.name][0])
            add_response_headers(request, _headers(limit, limit, WINDOW_SECONDS))

    def _show_counters(self, request: web.Request, endpoint: Endpoint, app_id: str) -> None:
        if self.vendor.option("rate_limit"):
            _show(request, [self.ctx.limiter.peek(self._key(app_id, b), self._limit(b), WINDOW_SECONDS)
                            for b in ENDPOINT_BUCKETS[endpoint.family.name]])

    def _rate_limit(self, request: web.Request, endpoint: Endpoint, app_id: str,
                    costs: list[tuple[str, int]]) -> None:
        """Count every bucket or none: all are checked before any is charged."""
        if not self.vendor.option("rate_limit"):
            return
        limiter = self.ctx.limiter
        if len(costs) == 1:  # one bucket: a refused hit counts nothing, so no separate check
            (bucket, cost), = costs
            decision = limiter.hit(self._key(app_id, bucket), self._limit(bucket), WINDOW_SECONDS, cost)
            _show(request, [decision])
            if not decision.allowed:
                raise fail(429, *endpoint.family.rate_limited)
            return
        keys = [(self._key(app_id, bucket), self._limit(bucket), cost) for bucket, cost in costs]
        peeks = [limiter.peek(key, limit, WINDOW_SECONDS) for key, limit, _ in keys]
        if any(cost > peek.remaining for (_, _, cost), peek in zip(keys, peeks, strict=True)):
            _show(request, peeks)
            raise fail(429, *endpoint.family.rate_limited)
        _show(request, [limiter.hit(key, limit, WINDOW_SECONDS, cost) for key, limit, cost in keys])


def _show(request: web.Request, decisions: list[Decision]) -> None:
    tightest = min(decisions, key=lambda d: d.remaining)
    add_response_headers(request, _headers(tightest.limit, tightest.remaining, tightest.reset_in))


def _headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset)}
