"""JPush Device API v3 routes: auth, rate limit, parameter parsing and answers.

Every route is slash-tolerant (``//`` collapses, a trailing ``/`` is ignored: the Node client
sends both) through an aiohttp regex pattern; ``Route.path`` stays the documented form.
"""
from __future__ import annotations

import hmac
from functools import partial
from typing import TYPE_CHECKING, Any
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from ...errors import make_response
from ...httputil import AuthHeaderError, BodyError, add_response_headers, parse_basic, read_json
from ...openapi import closed_object, full_match, success
from ...vendor import Route
from . import errors, rules, storage

if TYPE_CHECKING:  # pragma: no cover
    from . import JPush

#: the largest body any route accepts (2000 registration ids of 64 chars fit easily)
BODY_LIMIT = 256 * 1024
RATE_WINDOW = 60
TWO_DAYS = 2 * 24 * 3600

BODY_MESSAGES = {
    "too_large": f"request body is larger than {BODY_LIMIT} bytes",
    "empty": "request body is empty",
    "not_utf8": "request body is not valid UTF-8",
    "invalid_json": "request body is not valid JSON",
    "not_object": "request body must be a JSON object",
}

Operation = Callable[[web.Request, str], Awaitable[web.Response]]


def slash_tolerant(path: str) -> str:
    """``/v3/tags/{tag}`` -> an aiohttp pattern accepting repeated and trailing slashes."""
    pattern = "/{_lead:/*}"
    for i, segment in enumerate(s for s in path.split("/") if s):
        if i:
            pattern += f"{{_s{i}:/+}}"
        pattern += "{" + segment[1:-1] + ":[^/]+}" if segment.startswith("{") else segment
    return pattern + "{_trail:/*}"


# -- request parsing helpers ----------------------------------------------------------------

def _creatable(app_key: str, secret: str) -> bool:
    """Open auth mode makes an unknown app only for credentials shaped like JPush's own."""
    return bool(rules.APP_CREDENTIAL_RE.fullmatch(app_key) and rules.APP_CREDENTIAL_RE.fullmatch(secret))


def _check_query(request: web.Request, allowed: Iterable[str]) -> None:
    """A route's own parameters may be given once. Other parameters are ignored: no source shows
    the real service refusing them, and the Node client drops or mangles query strings."""
    for key in allowed:
        if len(request.query.getall(key, [])) > 1:
            raise errors.illegal(f"parameter {key!r} given more than once")


def _platforms(request: web.Request) -> list[str] | None:
    """``platform=android,ios`` (commas raw or %2C); None means every platform."""
    raw = request.query.get("platform")
    if raw is None:
        return None
    names = [p.strip() for p in raw.split(",") if p.strip()]
    for name in names:
        if name != rules.ALL_PLATFORMS and name not in rules.PLATFORMS:
            raise errors.illegal(f"platform {name!r} is not one of {', '.join(rules.PLATFORMS)}, all")
    if not names or rules.ALL_PLATFORMS in names:
        return None
    return sorted(set(names))


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, whatever the Content-Type (the Python client sends
    ``application/json;charset:utf-8``)."""
    try:
        body = await read_json(request, BODY_LIMIT, require_object=True)
    except BodyError as exc:
        raise errors.illegal(BODY_MESSAGES[exc.kind]) from None
    return body


def _only_keys(obj: dict[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = tuple(allowed)
    for key in obj:
        if key not in allowed:
            raise errors.illegal(f"unknown field '{where}{key}' (allowed: {', '.join(allowed)})")


def _string_list(value: Any, where: str, max_items: int) -> list[str]:
    """A JSON array of strings, at most ``max_items``, duplicates dropped."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.illegal(f"{where} must be an array of strings")
    if len(value) > max_items:
        raise errors.illegal(f"{where} has {len(value)} items, at most {max_items} are allowed")
    return list(dict.fromkeys(value))


def _tag_batch(value: Any, where: str, chars: str) -> list[str]:
    """Tags added (or removed) by one device update: ≤100, ≤1000 bytes in all, each valid."""
    tags = _string_list(value, where, rules.MAX_TAGS_PER_CALL)
    for tag in tags:
        _refuse(rules.name_problem(tag, "tag", chars))
    if sum(len(t.encode("utf-8")) for t in tags) > rules.MAX_TAG_BYTES_PER_CALL:
        raise errors.illegal(f"{where}: the tags total more than {rules.MAX_TAG_BYTES_PER_CALL} bytes")
    return tags


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise errors.illegal(problem)


def _rid_ops(body: dict[str, Any], ops: tuple[str, ...]) -> dict[str, list[str]]:
    """``{"registration_ids": {"add": [...], "remove": [...]}}`` -> lists per op, at least one id."""
    _only_keys(body, ("registration_ids",), "")
    spec = body.get("registration_ids")
    if not isinstance(spec, dict):
        raise errors.illegal("registration_ids must be an object with " + " and/or ".join(ops))
    _only_keys(spec, ops, "registration_ids.")
    lists = {op: _string_list(spec[op], f"registration_ids.{op}", rules.MAX_RIDS_PER_CALL)
             if spec.get(op) is not None else [] for op in ops}
    if not any(lists.values()):
        raise errors.illegal("registration_ids." + " or registration_ids.".join(ops)
                             + " must list at least one registration_id")
    return lists


def _device_change(body: dict[str, Any], chars: str) -> storage.DeviceChange:
    """POST /v3/devices/{rid}: ``tags`` ("" or {add, remove}), ``alias``, ``mobile``;
    a null field is left unchanged."""
    _only_keys(body, ("tags", "alias", "mobile"), "")
    change = storage.DeviceChange()
    tags = body.get("tags")
    if tags == "":
        change.clear_tags = True
    elif isinstance(tags, dict):
        _only_keys(tags, ("add", "remove"), "tags.")
        if tags.get("add") is not None:
            change.add_tags = _tag_batch(tags["add"], "tags.add", chars)
        if tags.get("remove") is not None:
            change.remove_tags = _tag_batch(tags["remove"], "tags.remove", chars)
    elif tags is not None:
        # e.g. {"tags": "x"} from the Python client's device_tag("x"): the Device API doc allows
        # only "" (clear) or {add, remove}
        raise errors.illegal('tags must be "" (clear all) or an object with add and/or remove')
    alias = body.get("alias")
    if alias is not None:
        if not isinstance(alias, str):
            raise errors.illegal("alias must be a string")
        if alias:
            _refuse(rules.name_problem(alias, "alias", chars))
        change.alias = alias
    mobile = body.get("mobile")
    if mobile is not None:
        if not isinstance(mobile, str):
            raise errors.illegal("mobile must be a string")
        if mobile:
            _refuse(rules.mobile_problem(mobile))
        change.mobile = mobile
    return change


def _recently_online(last: str | None, now: float) -> bool:
    """Whether ``last_online_time`` is shown: only when within the last two days."""
    when = rules.parse_last_online(last) if last else None
    return when is not None and now - when.timestamp() <= TWO_DAYS


def is_push_path(path: str) -> bool:
    """Whether a request path is the Push API's (``/v3/push...``, any slashes)."""
    segments = [p for p in path.split("/") if p]
    return len(segments) >= 2 and segments[0] == "v3" and segments[1] in ("push", "grouppush")


PUSH_BODY_MESSAGES = {
    "too_large": (rules.TOO_BIG, f"request body is larger than {BODY_LIMIT} bytes"),
    "empty": (rules.MISSING, "Missing parameter"),
    "not_utf8": (rules.MISSING, "Missing parameter: the body is not valid UTF-8"),
    "invalid_json": (rules.MISSING, "Missing parameter: the body is not valid JSON"),
    "not_object": (rules.INVALID, "the push must be a JSON object"),
}

PUSH_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["platform", "audience"],
    "properties": {
        "platform": {"oneOf": [{"const": "all"}, {"type": "array", "items": {"enum": list(rules.PUSH_PLATFORMS)}}]},
        "audience": {"oneOf": [{"const": "all"}, {"type": "object", "properties": {
            key: {"type": "array", "items": {"type": "string"}, "maxItems": limit}
            for key, limit in rules.AUDIENCE_LIMITS.items()}}]},
        "notification": {"type": "object"}, "message": {"type": "object", "required": ["msg_content"]},
        "sms_message": {"type": "object"}, "options": {"type": "object"}, "cid": {"type": "string"},
    },
}


# -- the success bodies, each defined once and answered by the handlers below --------------------
STRINGS = {"type": "array", "items": {"type": "string"}}
RID = full_match(rules.RID_RE.pattern)
#: a successful write: ``{}``, or no body at all with option success_body=empty
WRITTEN_BODY = closed_object({})
WRITTEN = success(WRITTEN_BODY, "`{}`; an empty body when option success_body is `empty` (what the docs show)")
#: GET /v3/devices/{registration_id} (storage.device_json); a deleted alias is null or "" (option
#: deleted_alias), mobile a string or, with option mobile_format=number, an integer
DEVICE_BODY = closed_object({"tags": STRINGS, "alias": {"type": ["string", "null"]},
                             "mobile": {"type": ["string", "integer", "null"]}})
#: POST /v3/devices/status: registration id -> its status, null for an unknown one
STATUS_BODY = {"type": "object", "additionalProperties": {"oneOf": [
    {"type": "null"},
    closed_object({"online": {"type": "boolean"},
                   "last_online_time": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}$"}},
                  optional=("last_online_time",))]}}
#: GET /v3/aliases/{alias}: the ids, or with new_format=true each id with its platform
ALIAS_BODY = {"oneOf": [
    closed_object({"registration_ids": {"type": "array", "items": RID}}),
    closed_object({"data": {"type": "array", "items": closed_object(
        {"registration_id": RID, "platform": {"type": "string", "enum": list(rules.PLATFORMS)},
         "last_online_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}},
        optional=("last_online_date",))}})]}
TAGS_BODY = closed_object({"tags": STRINGS})
IN_TAG_BODY = closed_object({"result": {"type": "boolean"}})
#: POST /v3/push and /v3/push/validate (storage.send_push); validate answers msg_id "0"
PUSH_BODY = closed_object({"sendno": {"type": "string", "pattern": "^[0-9]+$"},
                           "msg_id": {"type": "string", "pattern": "^[0-9]+$"}})
CID_BODY = closed_object({"cidlist": STRINGS})


# -- the API --------------------------------------------------------------------------------

class Routes:
    def __init__(self, vendor: JPush) -> None:
        self.vendor = vendor
        self.ctx = vendor.ctx

    def table(self) -> list[Route]:
        platform = {"name": "platform", "in": "query", "required": False,
                    "description": "comma-separated: android,ios,hmos,quickapp,winphone or all",
                    "schema": {"type": "string"}}
        rid_ops = {"type": "object", "properties": {"registration_ids": {"type": "object", "properties": {
            "add": {"type": "array", "items": {"type": "string"}, "maxItems": 1000},
            "remove": {"type": "array", "items": {"type": "string"}, "maxItems": 1000}}}}}
        table: list[tuple[str, str, Operation, tuple[str, ...], str, dict[str, Any]]] = [
            # status first: it must win over /v3/devices/{registration_id}
            ("POST", "/v3/devices/status", self.device_status, (),
             "Online status of up to 1000 devices (VIP)",
             {"requestBody": {"type": "object", "properties": {"registration_ids": {
                 "type": "array", "items": {"type": "string"}, "maxItems": 1000}}},
              "responses": {"200": success(STATUS_BODY, "each registration id's status")}}),
            ("GET", "/v3/devices/{registration_id}", self.get_device, (),
             "A device's tags, alias and mobile", {"responses": {"200": success(DEVICE_BODY, "the device")}}),
            ("POST", "/v3/devices/{registration_id}", self.update_device, (),
             "Set a device's tags (\"\" clears, {add, remove}), alias (\"\" deletes) and mobile",
             {"requestBody": {"type": "object", "properties": {
                 "tags": {"oneOf": [{"const": ""}, {"type": "object"}]},
                 "alias": {"type": "string"}, "mobile": {"type": "string"}}}, "responses": {"200": WRITTEN}}),
            ("GET", "/v3/aliases/{alias}", self.get_alias, ("platform", "new_format"),
             "Devices bound to an alias (at most 10)",
             {"parameters": [platform, {"name": "new_format", "in": "query", "required": False,
                                        "schema": {"type": "string", "enum": ["true", "false"]}}],
              "responses": {"200": success(ALIAS_BODY, "the bound devices")}}),
            ("POST", "/v3/aliases/{alias}", self.unbind_alias, (),
             "Unbind devices from an alias", {"requestBody": rid_ops, "responses": {"200": WRITTEN}}),
            ("DELETE", "/v3/aliases/{alias}", self.delete_alias, ("platform",),
             "Delete an alias and every binding to it", {"parameters": [platform], "responses": {"200": WRITTEN}}),
            ("GET", "/v3/tags/", self.tag_list, (),
             "Tags held by some device (at most 100 per platform)",
             {"responses": {"200": success(TAGS_BODY, "the tags")}}),
            ("GET", "/v3/tags/{tag}/registration_ids/{registration_id}", self.device_in_tag, (),
             "Whether a device has a tag", {"responses": {"200": success(IN_TAG_BODY, "whether it has it")}}),
            ("POST", "/v3/tags/{tag}", self.update_tag, (),
             "Add devices to / remove devices from a tag", {"requestBody": rid_ops, "responses": {"200": WRITTEN}}),
            ("DELETE", "/v3/tags/{tag}", self.delete_tag, ("platform",),
             "Delete a tag from every device", {"parameters": [platform], "responses": {"200": WRITTEN}}),
        ]
        push_body = {"requestBody": PUSH_SCHEMA,
                     "responses": {"200": success(PUSH_BODY, "the push's sendno and msg_id")}}
        # the Push API (https://api.jpush.cn) shares the path root v3 with the Device API
        push_table: list[tuple[str, str, Operation, tuple[str, ...], str, dict[str, Any]]] = [
            ("POST", "/v3/push", self.send_push, (),
             "Push a notification and/or message to an audience; answers sendno and msg_id", push_body),
            ("POST", "/v3/push/validate", self.validate_push, (),
             "Check a push exactly like /v3/push without sending it", push_body),
            ("GET", "/v3/push/cid", self.push_cids, ("count", "type"),
             "Fresh cids (idempotency keys) for pushes",
             {"parameters": [{"name": "count", "in": "query", "required": False,
                              "schema": {"type": "integer", "minimum": 1, "maximum": rules.MAX_CID_COUNT}},
                             {"name": "type", "in": "query", "required": False,
                              "schema": {"type": "string", "enum": ["push", "schedule"]}}],
              "responses": {"200": success(CID_BODY, "the cids")}}),
        ]
        return [
            Route(method, path, self._endpoint(op, query), summary, pattern=slash_tolerant(path), doc=doc,
                  exact_first=True)
            for method, path, op, query, summary, doc in table
        ] + [
            Route(method, path, self._endpoint(op, query, push=True), summary, pattern=slash_tolerant(path), doc=doc,
                  exact_first=True)
            for method, path, op, query, summary, doc in push_table
        ]

    # -- the envelope every route shares ----------------------------------------------------
    def _endpoint(self, op: Operation, query: tuple[str, ...],
                  push: bool = False) -> Callable[[web.Request], Awaitable[web.Response]]:
        authenticate = self._authenticate_push if push else self._authenticate
        vendor = self.vendor

        async def handler(request: web.Request) -> web.Response:
            credential = (push, request.headers.get("Authorization"))
            app_key = vendor.verified(request, credential)
            if app_key is None:
                since = self.ctx.store.acknowledged
                app_key = await authenticate(request)
                vendor.remember_verified(request, credential, app_key, since)
            self._count_call(request, app_key)
            if query:
                _check_query(request, query)
            return await op(request, app_key)
        handler.__name__ = op.__name__
        handler.__doc__ = op.__doc__
        return handler

    async def _authenticate(self, request: web.Request) -> str:
        """Basic app_key:master_secret. Missing -> 7001, unknown key -> 7008, wrong -> 7004.
        In open auth mode an unknown key (24 alphanumerics, with a 24-alphanumeric secret) is
        created with that secret on first use."""
        try:
            app_key, secret = parse_basic(request.headers.get("Authorization"))
        except AuthHeaderError as exc:
            code = errors.AUTH_EMPTY if exc.kind in ("missing", "wrong_scheme", "empty") else errors.AUTH_FAILED
            raise errors.jpush_error(code) from None
        if not app_key or not secret:
            raise errors.jpush_error(errors.AUTH_EMPTY)
        stored = await self.vendor.tenant(request, storage.app_secret, storage.create_app, app_key, secret,
                                          refusal=partial(errors.jpush_error, errors.APPKEY_UNKNOWN),
                                          creatable=partial(_creatable, app_key, secret))
        if not hmac.compare_digest(stored.encode(), secret.encode()):
            raise errors.jpush_error(errors.AUTH_FAILED)
        return str(app_key)

    async def _authenticate_push(self, request: web.Request) -> str:
        """The Push API answers every credential problem (none, malformed, unknown app key, wrong
        secret) with 401/1004: the Java client's remote ExceptionTest expects 1004 for an unknown
        app key and for a wrong secret alike."""
        failed = partial(errors.push_error, errors.PUSH_AUTH_FAILED)
        try:
            app_key, secret = parse_basic(request.headers.get("Authorization"))
        except AuthHeaderError:
            raise failed() from None
        if not app_key or not secret:
            raise failed()
        stored = await self.vendor.tenant(request, storage.app_secret, storage.create_app, app_key, secret,
                                          refusal=failed, creatable=partial(_creatable, app_key, secret))
        if not hmac.compare_digest(stored.encode(), secret.encode()):
            raise failed()
        return str(app_key)

    def _count_call(self, request: web.Request, app_key: str) -> None:
        """The per-app-key quota (option ``rate_limit``): X-Rate-Limit-* headers on every
        answer, or 429/2002."""
        if not self.vendor.option("rate_limit"):
            return
        limit = self.vendor.option("rate_limit_per_minute")
        decision = self.ctx.limiter.hit((self.vendor.name, app_key), limit, RATE_WINDOW)
        add_response_headers(request, {
            "X-Rate-Limit-Quota": str(limit),
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(decision.remaining),
            "X-Rate-Limit-Reset": str(decision.reset_in),
        })
        if not decision.allowed:
            raise errors.jpush_error(errors.RATE_LIMITED)

    # -- answers ----------------------------------------------------------------------------
    @staticmethod
    def _ok(body: Any) -> web.Response:
        return make_response(200, body, content_type=errors.CONTENT_TYPE)

    def _written(self) -> web.Response:
        """Success of a write: ``{}`` or an empty body (option ``success_body``)."""
        return self._ok({} if self.vendor.option("success_body") == "json" else None)

    # -- devices ----------------------------------------------------------------------------
    async def get_device(self, request: web.Request, app_key: str) -> web.Response:
        option = self.vendor.option
        device = self.ctx.store.read(storage.device_json, app_key, request.match_info["registration_id"],
                                     option("deleted_alias") == "null", option("mobile_format") == "number")
        if device is None:
            raise errors.rid_not_in_app()
        return self._ok(device)

    async def update_device(self, request: web.Request, app_key: str) -> web.Response:
        change = _device_change(await _json_object(request), self.vendor.option("tag_alias_chars"))
        await self.ctx.store.write(storage.update_device, app_key, request.match_info["registration_id"], change)
        return self._written()

    async def device_status(self, request: web.Request, app_key: str) -> web.Response:
        body = await _json_object(request)
        _only_keys(body, ("registration_ids",), "")
        rids = _string_list(body.get("registration_ids"), "registration_ids", rules.MAX_RIDS_PER_CALL)
        if not rids:
            raise errors.illegal("registration_ids must list at least one registration_id")
        found = self.ctx.store.read(storage.device_status, app_key, rids)
        now = self.ctx.clock.now()
        answer: dict[str, Any] = {}
        for rid in rids:
            if rid not in found:
                answer[rid] = None
                continue
            online, last = found[rid]
            entry: dict[str, Any] = {"online": online}
            if not online and _recently_online(last, now):
                entry["last_online_time"] = last
            answer[rid] = entry
        return self._ok(answer)

    # -- aliases ----------------------------------------------------------------------------
    async def get_alias(self, request: web.Request, app_key: str) -> web.Response:
        new_format = request.query.get("new_format", "false")
        if new_format not in ("true", "false"):
            raise errors.illegal("new_format must be true or false")
        devices = self.ctx.store.read(storage.alias_devices, app_key, request.match_info["alias"],
                                      _platforms(request))
        if new_format == "false":
            return self._ok({"registration_ids": [d[0] for d in devices]})
        today = rules.format_date(self.ctx.clock.now())
        data = []
        for rid, platform, online, last in devices:
            entry = {"registration_id": rid, "platform": platform}
            if online:
                entry["last_online_date"] = today
            elif last:
                entry["last_online_date"] = last[:10]
            data.append(entry)
        return self._ok({"data": data})

    async def delete_alias(self, request: web.Request, app_key: str) -> web.Response:
        await self.ctx.store.write(storage.delete_alias, app_key, request.match_info["alias"], _platforms(request))
        return self._written()

    async def unbind_alias(self, request: web.Request, app_key: str) -> web.Response:
        rids = _rid_ops(await _json_object(request), ("remove",))["remove"]
        await self.ctx.store.write(storage.unbind_alias, app_key, request.match_info["alias"], rids)
        return self._written()

    # -- tags -------------------------------------------------------------------------------
    async def tag_list(self, request: web.Request, app_key: str) -> web.Response:
        return self._ok({"tags": self.ctx.store.read(storage.tag_list, app_key)})

    async def device_in_tag(self, request: web.Request, app_key: str) -> web.Response:
        result = self.ctx.store.read(storage.device_has_tag, app_key, request.match_info["tag"],
                                     request.match_info["registration_id"])
        if result is None:
            raise errors.rid_not_in_app()
        return self._ok({"result": result})

    async def update_tag(self, request: web.Request, app_key: str) -> web.Response:
        tag = request.match_info["tag"]
        _refuse(rules.name_problem(tag, "tag", self.vendor.option("tag_alias_chars")))
        lists = _rid_ops(await _json_object(request), ("add", "remove"))
        await self.ctx.store.write(storage.update_tag, app_key, tag, lists["add"], lists["remove"])
        return self._written()

    async def delete_tag(self, request: web.Request, app_key: str) -> web.Response:
        await self.ctx.store.write(storage.delete_tag, app_key, request.match_info["tag"], _platforms(request))
        return self._written()

    # -- pushes -------------------------------------------------------------------------------
    async def _push(self, request: web.Request, app_key: str, validate_only: bool) -> web.Response:
        try:
            body = await read_json(request, BODY_LIMIT, require_object=True)
        except BodyError as exc:
            raise errors.push_error(*PUSH_BODY_MESSAGES[exc.kind]) from None
        problem = rules.push_problem(body, self.vendor.option("tag_alias_chars"))
        if problem is not None:
            raise errors.push_error(*problem)
        push = storage.Push(**{k: body.get(k) for k in (*storage.PUSH_JSON_FIELDS, "cid")})
        answer = await self.ctx.store.write(storage.send_push, app_key, push, validate_only, self.ctx.clock.now())
        return make_response(200, answer, content_type=errors.CONTENT_TYPE)

    async def send_push(self, request: web.Request, app_key: str) -> web.Response:
        return await self._push(request, app_key, validate_only=False)

    async def validate_push(self, request: web.Request, app_key: str) -> web.Response:
        return await self._push(request, app_key, validate_only=True)

    async def push_cids(self, request: web.Request, app_key: str) -> web.Response:
        raw = request.query.get("count", "1")
        count = int(raw) if raw.isdigit() and len(raw) <= 4 else 0
        if not 1 <= count <= rules.MAX_CID_COUNT:
            raise errors.push_error(rules.INVALID, f"count must be an integer from 1 to {rules.MAX_CID_COUNT}")
        if request.query.get("type", "push") not in ("push", "schedule"):
            raise errors.push_error(rules.INVALID, "type must be push or schedule")
        return make_response(200, {"cidlist": storage.new_cids(app_key, count)}, content_type=errors.CONTENT_TYPE)
