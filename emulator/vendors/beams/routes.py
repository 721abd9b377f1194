"""Pusher Beams routes: the device API (apns, fcm, web) under ``/device_api/v1`` and bare
``/instances`` (Android's host override drops the prefix), the web VAPID key, and the
server-side publish, user-deletion and reporting routes, which are recorded in the state.

Each handler checks in the same order: content type, path parameters, instance, body,
then whatever needs the stored state (inside the write, so nothing races).
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...errors import json_response, make_response
from ...httputil import BodyError, media_type, read_json
from ...openapi import NO_CONTENT, closed_object, full_match, success
from ...vendor import Route
from . import errors, storage
from .rules import (DEVICE_BODY_LIMIT, DEVICE_ID_RE, INTEREST_RE, INTERESTS_BODY_LIMIT, MAX_INTERESTS,
                    MAX_USER_ID, METADATA_FIELDS, PUBLISH_LIMITS, REPORTING_BODY_LIMIT, UUID_RE, clean_metadata,
                    decode_cursor, encode_cursor, optional_str, page_limit, payload_platforms, token_is_valid,
                    user_id_from_header, validate_targets, vapid_public_key)

if TYPE_CHECKING:  # pragma: no cover
    from . import Beams


# -- request parsing shared by handlers -----------------------------------------------------
def check_content_type(request: web.Request, *, has_body: bool) -> None:
    """Body routes need application/json (parameters allowed). Bodyless routes accept no
    Content-Type (the web SDK sends none) or application/json (the iOS SDK always sends it)."""
    kind = media_type(request)
    if (has_body or kind is not None) and kind != "application/json":
        raise errors.invalid_content_type()


def instance_param(request: web.Request, invalid=errors.invalid_instance_id) -> str:
    instance_id = request.match_info["instance"]
    if not instance_id:
        raise errors.missing_instance_id()
    if not UUID_RE.fullmatch(instance_id):
        raise invalid()
    return instance_id


def device_param(request: web.Request) -> str:
    device_id = request.match_info["device_id"]
    if not device_id:
        raise errors.missing_device_id()
    return device_id


async def json_object(request: web.Request, limit: tuple[int, str]) -> dict[str, Any]:
    try:
        return await read_json(request, limit[0], require_object=True)
    except BodyError as exc:
        if exc.kind == "too_large":
            raise errors.body_too_large(limit[1]) from None
        raise errors.bad_body() from None


def empty_ok() -> web.Response:
    """Go's ``WriteHeader(200)`` with no body: no Content-Type, nothing to parse."""
    return web.Response(status=200)


STR = {"type": "string"}
INTEREST_NAMES = {"type": "array", "items": full_match(INTEREST_RE.pattern)}
# -- the success bodies, each defined once: the handlers below (and storage.get_device) answer these
#: POST /devices/{platform}: the device and the interests it already has
REGISTER_BODY = closed_object({"id": full_match(DEVICE_ID_RE.pattern), "initialInterestSet": INTEREST_NAMES})
#: the metadata a device keeps: only its platform's fields (rules.METADATA_FIELDS), as strings
METADATA_BODY = closed_object({key: STR for fields in METADATA_FIELDS.values() for key in fields},
                              optional=tuple({key for fields in METADATA_FIELDS.values() for key in fields}))
#: GET /devices/{platform}/{device_id}
DEVICE_BODY = closed_object({"id": full_match(DEVICE_ID_RE.pattern), "userId": {"type": ["string", "null"]},
                             "metadata": METADATA_BODY})
#: GET .../interests: one page; ``nextCursor`` only when there is a next page
INTERESTS_PAGE_BODY = closed_object({"interests": INTEREST_NAMES, "responseMetadata": closed_object(
    {"nextCursor": STR}, optional=("nextCursor",))})
VAPID_BODY = closed_object({"vapidPublicKey": STR})
#: a publish's answer: JSON written without a Content-Type, so Go's sniffing makes it text/plain
PUBLISH_BODY = closed_object({"publishId": {"type": "string", "pattern": "^pubid-[0-9a-f-]{36}$"}})

ROUTE_DOCS: dict[str, dict[str, Any]] = {  # OpenAPI fragments per handler name
    "register": {"requestBody": {"type": "object", "required": ["token"], "properties": {
        "token": STR, "bundleIdentifier": STR, "metadata": {"type": "object"},
        "knownPreviousClientIds": {"type": "array", "items": STR}}},
        "responses": {"200": success(REGISTER_BODY, "the device; a token already registered gets its device "
                                                    "back with that device's interests")}},
    "get_device": {"responses": {"200": success(DEVICE_BODY, "the device")}},
    "delete_device": {"responses": {"200": NO_CONTENT}},
    "put_metadata": {"responses": {"200": NO_CONTENT}},
    "put_token": {"responses": {"200": NO_CONTENT}},
    "get_interests": {"parameters": [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
        {"name": "cursor", "in": "query", "schema": STR}],
        "responses": {"200": success(INTERESTS_PAGE_BODY, "one page of the device's interests")}},
    "add_interest": {"responses": {"200": NO_CONTENT}},
    "remove_interest": {"responses": {"200": NO_CONTENT}},
    "vapid_key": {"responses": {"200": success(VAPID_BODY, "the instance's VAPID public key")}},
    "delete_user": {"responses": {"200": NO_CONTENT}},
    "put_interests": {"requestBody": {"type": "object", "required": ["interests"], "properties": {
        "interests": {"type": "array", "maxItems": 5000,
                      "items": {"type": "string", "pattern": INTEREST_RE.pattern}}}},
        "responses": {"200": NO_CONTENT}},
    "put_user": {"security": [{"beams_user_token": []}], "responses": {"200": NO_CONTENT}},
    "publish_interests": {"requestBody": {"type": "object", "required": ["interests"], "properties": {
        "interests": {"type": "array", "minItems": 1, "maxItems": 100, "items": STR},
        "apns": {"type": "object"}, "fcm": {"type": "object"}, "web": {"type": "object"}, "webhookUrl": STR}},
        "responses": {"200": success(PUBLISH_BODY, "the publish id (JSON sent as text/plain, as the real server)",
                                     content_type="text/plain")}},
    "publish_users": {"requestBody": {"type": "object", "required": ["users"], "properties": {
        "users": {"type": "array", "minItems": 1, "maxItems": 1000, "items": STR},
        "apns": {"type": "object"}, "fcm": {"type": "object"}, "web": {"type": "object"}}},
        "responses": {"200": success(PUBLISH_BODY, "the publish id (JSON sent as text/plain, as the real server)",
                                     content_type="text/plain")}},
    "report_event": {"requestBody": {"type": "object", "required": ["event", "publishId", "deviceId", "timestampSecs"],
                                     "properties": {"event": STR, "publishId": STR, "deviceId": STR,
                                                    "timestampSecs": {"type": "integer"}}},
                     "security": [], "responses": {"200": NO_CONTENT}},
}


class Routes:
    """The handlers; they need the vendor for its context (store, clock, options)."""

    def __init__(self, vendor: Beams) -> None:
        self.vendor = vendor
        self.ctx = vendor.ctx

    # -- instances ------------------------------------------------------------------------
    async def instance(self, request: web.Request, instance_id: str, *, period: bool = True,
                       secret: str | None = None) -> tuple[str, str]:
        """(secret_key, vapid_private_key) of a known instance; in open auth mode an unknown
        one is created (with ``secret`` as its key when the caller presented one)."""
        return await self.vendor.tenant(request, storage.get_instance, storage.ensure_instance, instance_id,
                                        secret, refusal=partial(errors.instance_not_found, period=period))

    async def device_call(self, request: web.Request, *, has_body: bool = False) -> tuple[str, str, str]:
        """Common prefix of the per-device routes: (instance, platform, device id)."""
        check_content_type(request, has_body=has_body)
        instance_id = instance_param(request)
        device_id = device_param(request)
        await self.instance(request, instance_id)
        return instance_id, request.match_info["platform"], device_id

    # -- device API -----------------------------------------------------------------------
    async def register(self, request: web.Request) -> web.Response:
        check_content_type(request, has_body=True)
        instance_id = instance_param(request)
        platform = request.match_info["platform"]
        await self.instance(request, instance_id)
        body = await json_object(request, DEVICE_BODY_LIMIT)
        token = optional_str(body, "token")
        bundle = optional_str(body, "bundleIdentifier")
        metadata = clean_metadata(platform, body.get("metadata"))
        previous = body.get("knownPreviousClientIds")
        if previous is not None and not (isinstance(previous, list) and all(isinstance(p, str) for p in previous)):
            raise errors.bad_body()
        if not token:
            raise errors.missing_token(platform)
        if platform == "apns" and not bundle:
            raise errors.missing_bundle_identifier()
        if not token_is_valid(platform, token):
            raise errors.incorrect_token(platform)
        device_id, interests = await self.ctx.store.write(
            storage.register_device, instance_id, platform, token, bundle,
            metadata if "metadata" in body else None, self.ctx.clock.now())
        return json_response({"id": device_id, "initialInterestSet": interests}, trailing_newline=True)

    async def get_device(self, request: web.Request) -> web.Response:
        instance_id, platform, device_id = await self.device_call(request)
        device = self.ctx.store.read(storage.get_device, instance_id, platform, device_id)
        return json_response(device, trailing_newline=True)

    async def delete_device(self, request: web.Request) -> web.Response:
        instance_id, platform, device_id = await self.device_call(request)
        await self.ctx.store.write(storage.delete_device, instance_id, platform, device_id, self.ctx.clock.now())
        return empty_ok()

    async def put_metadata(self, request: web.Request) -> web.Response:
        instance_id, platform, device_id = await self.device_call(request, has_body=True)
        metadata = clean_metadata(platform, await json_object(request, DEVICE_BODY_LIMIT))
        await self.ctx.store.write(storage.set_metadata, instance_id, platform, device_id, metadata)
        return empty_ok()

    async def put_token(self, request: web.Request) -> web.Response:
        instance_id, platform, device_id = await self.device_call(request, has_body=True)
        token = optional_str(await json_object(request, DEVICE_BODY_LIMIT), "token")
        if not token:
            raise errors.missing_fcm_token_field()
        await self.ctx.store.write(storage.set_token, instance_id, platform, device_id, token,
                                   self.ctx.clock.now())
        return empty_ok()

    async def put_user(self, request: web.Request) -> web.Response:
        check_content_type(request, has_body=False)
        instance_id = instance_param(request)
        device_id = device_param(request)
        if not DEVICE_ID_RE.fullmatch(device_id):
            raise errors.invalid_device_id()
        secret_key, _ = await self.instance(request, instance_id)
        user_id = user_id_from_header(request.headers.get("Authorization"), instance_id, secret_key,
                                      self.ctx.clock.now())
        await self.ctx.store.write(storage.set_user, instance_id, request.match_info["platform"], device_id, user_id)
        return empty_ok()

    async def get_interests(self, request: web.Request) -> web.Response:
        instance_id, platform, device_id = await self.device_call(request)
        limit = page_limit(request.query.get("limit"))
        cursor = request.query.get("cursor")
        after = decode_cursor(cursor) if cursor else None
        names, more = self.ctx.store.read(storage.interests_page, instance_id, platform, device_id, after, limit)
        meta = {"nextCursor": encode_cursor(names[-1])} if more else {}
        return json_response({"interests": names, "responseMetadata": meta}, trailing_newline=True)

    async def put_interests(self, request: web.Request) -> web.Response:
        instance_id, platform, device_id = await self.device_call(request, has_body=True)
        body = await json_object(request, INTERESTS_BODY_LIMIT)
        names = body.get("interests")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise errors.bad_body()
        if not all(INTEREST_RE.fullmatch(n) for n in names):
            raise errors.invalid_interest_name()
        unique = list(dict.fromkeys(names))
        if len(unique) > MAX_INTERESTS:
            raise errors.interest_set_too_large(MAX_INTERESTS)
        await self.ctx.store.write(storage.set_interests, instance_id, platform, device_id, unique)
        return empty_ok()

    async def interest_call(self, request: web.Request, title: str) -> tuple[str, str, str, str]:
        """Common checks of add/remove one interest (the two routes title errors differently)."""
        check_content_type(request, has_body=False)
        instance_id = instance_param(request)
        device_id = device_param(request)
        if not DEVICE_ID_RE.fullmatch(device_id):
            raise errors.device_id_not_valid(title)
        interest = request.match_info["interest"]
        if not interest:
            raise errors.missing_interest_name()
        if not INTEREST_RE.fullmatch(interest):
            raise errors.invalid_interest_name()
        await self.instance(request, instance_id)
        return instance_id, request.match_info["platform"], device_id, interest

    async def add_interest(self, request: web.Request) -> web.Response:
        args = await self.interest_call(request, "Bad Request")
        await self.ctx.store.write(storage.add_interest, *args)
        return empty_ok()

    async def remove_interest(self, request: web.Request) -> web.Response:
        args = await self.interest_call(request, "Incomplete Request")
        await self.ctx.store.write(storage.remove_interest, *args)
        return empty_ok()

    async def vapid_key(self, request: web.Request) -> web.Response:
        check_content_type(request, has_body=False)
        _, private_key = await self.instance(request, instance_param(request))
        return json_response({"vapidPublicKey": vapid_public_key(private_key)}, trailing_newline=True)

    # -- server side ------------------------------------------------------------------------
    async def server_call(self, request: web.Request, *, has_body: bool) -> str:
        """Content type, instance, ``Authorization: Bearer <secret key>`` and the optional
        rate limit shared by the publish and user APIs. Returns the instance id."""
        if has_body:
            check_content_type(request, has_body=True)
        instance_id = request.match_info["instance"]
        if not instance_id:
            raise errors.missing_instance_id()
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise errors.authorization_missing()
        scheme, _, presented = header.partition(" ")
        presented = presented.strip() if scheme == "Bearer" else ""
        if not UUID_RE.fullmatch(instance_id):
            raise errors.instance_not_found(period=False)
        secret_key, _ = await self.instance(request, instance_id, period=False, secret=presented or None)
        if not presented or presented != secret_key:
            raise errors.incorrect_secret_key()
        per_second = self.vendor.option("rate_limit")
        if per_second:
            decision = self.ctx.limiter.hit((self.vendor.name, instance_id, "server"), per_second, 1)
            if not decision.allowed:
                raise errors.rate_limited(per_second, max(1, decision.reset_after))
        return instance_id

    async def publish(self, request: web.Request, target: str) -> web.Response:
        instance_id = await self.server_call(request, has_body=True)
        _, max_bytes, max_text = PUBLISH_LIMITS[target]
        body = await json_object(request, (max_bytes, max_text))
        names = validate_targets(body, target)
        payload_platforms(body)
        publish_id = await self.ctx.store.write(storage.record_publish, instance_id, target, names, body,
                                                self.ctx.clock.now(), self.ctx.clock.iso())
        # The real answer is json.Marshal written without a Content-Type (Go sniffs text/plain).
        return make_response(200, {"publishId": publish_id}, content_type=errors.GO_TEXT)

    async def publish_interests(self, request: web.Request) -> web.Response:
        return await self.publish(request, "interests")

    async def publish_users(self, request: web.Request) -> web.Response:
        return await self.publish(request, "users")

    async def delete_user(self, request: web.Request) -> web.Response:
        instance_id = await self.server_call(request, has_body=False)
        user_id = request.match_info["user_id"]
        if len(user_id) > MAX_USER_ID:
            raise errors.user_id_too_long(MAX_USER_ID)
        await self.ctx.store.write(storage.delete_user, instance_id, user_id, self.ctx.clock.now())
        return empty_ok()

    async def report_event(self, request: web.Request) -> web.Response:
        check_content_type(request, has_body=True)
        instance_id = instance_param(request, invalid=errors.reporting_invalid_instance)
        await self.instance(request, instance_id)
        body = await json_object(request, REPORTING_BODY_LIMIT)
        for key in ("event", "publishId", "deviceId"):
            value = optional_str(body, key)
            if not value:
                raise errors.reporting_missing(key)
        stamp = body.get("timestampSecs")
        if stamp is None:
            raise errors.reporting_missing("timestampSecs")
        if isinstance(stamp, bool) or not isinstance(stamp, int):
            raise errors.bad_body()
        optional_str(body, "userId")
        optional_str(body, "instanceId")
        for flag in ("appInBackground", "hasDisplayableContent", "hasData"):
            if body.get(flag) is not None and not isinstance(body[flag], bool):
                raise errors.bad_body()
        if body["event"].lower() not in ("delivery", "open"):
            raise errors.reporting_bad_event()
        await self.ctx.store.write(storage.insert_record, "beams_events", instance_id,
                                   {"body": body, "time": self.ctx.clock.now()})
        return empty_ok()

    # -- the table ----------------------------------------------------------------------------
    def table(self) -> list[Route]:
        out: list[Route] = []
        inst = "{instance:[^/]*}"
        dev = "{device_id:[^/]*}"
        plat = "{platform:apns|fcm|web}"
        device_table = [
            ("POST", "/devices/{platform}", f"/devices/{plat}", self.register, "Register a device"),
            ("GET", "/devices/{platform}/{device_id}", f"/devices/{plat}/{dev}", self.get_device, "Get a device"),
            ("DELETE", "/devices/{platform}/{device_id}", f"/devices/{plat}/{dev}", self.delete_device,
             "Delete a device"),
            ("PUT", "/devices/{platform}/{device_id}/metadata", f"/devices/{plat}/{dev}/metadata",
             self.put_metadata, "Replace a device's metadata"),
            ("PUT", "/devices/fcm/{device_id}/token", f"/devices/{{platform:fcm}}/{dev}/token", self.put_token,
             "Update an FCM device's token"),
            ("PUT", "/devices/{platform}/{device_id}/user", f"/devices/{plat}/{dev}/user", self.put_user,
             "Set a device's user id (Bearer JWT)"),
            ("GET", "/devices/{platform}/{device_id}/interests", f"/devices/{plat}/{dev}/interests",
             self.get_interests, "List a device's interests (limit, cursor)"),
            ("PUT", "/devices/{platform}/{device_id}/interests", f"/devices/{plat}/{dev}/interests",
             self.put_interests, "Replace a device's interests"),
            ("POST", "/devices/{platform}/{device_id}/interests/{interest}",
             f"/devices/{plat}/{dev}/interests/{{interest:[^/]*}}", self.add_interest, "Subscribe to an interest"),
            ("DELETE", "/devices/{platform}/{device_id}/interests/{interest}",
             f"/devices/{plat}/{dev}/interests/{{interest:[^/]*}}", self.remove_interest,
             "Unsubscribe from an interest"),
            ("GET", "/web-vapid-public-key", "/web-vapid-public-key", self.vapid_key,
             "The instance's VAPID public key"),
        ]
        for prefix in ("/device_api/v1/instances", "/instances"):
            for method, path, pattern, handler, summary in device_table:
                # the device API is called by apps: no credential but the put_user token
                out.append(Route(method, f"{prefix}/{{instance}}{path}", handler, summary,
                                 pattern=f"{prefix}/{inst}{pattern}",
                                 doc={"security": [], **ROUTE_DOCS.get(handler.__name__, {})}))
        server_table = [
            ("POST", "/publish_api/v1/instances/{instance}/publishes/interests", self.publish_interests,
             "Publish to interests (recorded)"),
            ("POST", "/publish_api/v1/instances/{instance}/publishes", self.publish_interests,
             "Publish to interests, older path (recorded)"),
            ("POST", "/publish_api/v1/instances/{instance}/publishes/users", self.publish_users,
             "Publish to users (recorded)"),
            ("DELETE", "/customer_api/v1/instances/{instance}/users/{user_id}", self.delete_user,
             "Delete a user and their devices (recorded)"),
            ("DELETE", "/user_api/v1/instances/{instance}/users/{user_id}", self.delete_user,
             "Delete a user and their devices, Node SDK path (recorded)"),
            ("POST", "/reporting_api/v2/instances/{instance}/events", self.report_event,
             "Report a delivery/open event (recorded)"),
        ]
        for method, path, handler, summary in server_table:
            out.append(Route(method, path, handler, summary, pattern=path.replace("{instance}", inst),
                             doc=ROUTE_DOCS.get(handler.__name__, {})))
        return out
