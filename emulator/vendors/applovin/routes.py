"""AppLovin's five commands under ``/devices/{command}``, each reachable by GET and POST.

Every command runs the same prologue in the same order, so refusals are predictable:
405 (only with ``methods=strict``) → 403 (``api_key`` missing/unknown) → 400 (query) →
the command's own checks (400 missing ``device_list_id`` → 404 → 400 body → 406)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web

from ...errors import ApiError, json_response, make_response
from ...httputil import BodyError, read_body
from ...openapi import closed_object, success
from ...vendor import Route
from . import errors, storage
from .rules import MAX_DEVICE_CHARS, DeviceLines, is_valid_name, parse_device_lines

if TYPE_CHECKING:  # pragma: no cover
    from . import AppLovin

ROOT = "/devices"
LENIENT_METHODS = ("GET", "POST")


class Query:
    """The raw query string, decoded here rather than by aiohttp so that invalid UTF-8 and
    repeated parameters are AppLovin 400s and ``+`` follows option ``plus_sign``: ``space``
    (form decoding, what servlet containers and ``requests``/``urlencode`` clients do; a
    literal plus is ``%2B``) or ``literal`` (``+`` is a plus, as AppLovin's name rule allows it)."""

    def __init__(self, raw: str, plus_is_space: bool = True) -> None:
        self.values: dict[str, list[str | None]] = {}
        for pair in raw.split("&"):
            if not pair:
                continue
            key, _, value = pair.partition("=")
            if plus_is_space:
                key, value = key.replace("+", " "), value.replace("+", " ")
            self.values.setdefault(_decode(key) or key, []).append(_decode(value))

    def names(self) -> list[str]:
        return list(self.values)

    def get(self, name: str) -> str | None:
        """One parameter's value; None when absent or empty. Repeated or undecodable → 400."""
        values = self.values.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise errors.bad_request(f"Parameter {name} is given more than once")
        value = values[0]
        if value is None:
            raise errors.bad_request(f"Parameter {name} is not valid UTF-8")
        return value or None


def _decode(text: str) -> str | None:
    try:
        return unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class Command:
    name: str
    #: the method the documentation's example uses; the only one accepted with ``methods=strict``
    documented_method: str
    #: query parameters besides ``api_key``
    params: tuple[str, ...]
    summary: str

    @property
    def path(self) -> str:
        return f"{ROOT}/{self.name}"


COMMANDS = {c.name: c for c in (
    Command("create", "GET", ("name", "description"), "Create an empty device list (name, description)"),
    Command("list", "GET", ("device_list_id",), "All active lists, or one list's devices with device_list_id"),
    Command("append", "POST", ("device_list_id",), "Add newline-separated device models to a list"),
    Command("delete", "GET", ("device_list_id",), "Delete a device list (its name becomes free again)"),
    Command("deleteDevices", "POST", ("device_list_id",), "Remove newline-separated device models from a list"),
)}


# -- the success bodies, each defined once and answered by the handlers below -------------------
COUNT = {"type": "integer", "minimum": 0}
LIST_ID = {"type": "string"}
CREATE_BODY = closed_object({"device_list_id": LIST_ID})
#: storage.active_lists' rows
LIST_ROW = closed_object({"device_list_id": LIST_ID, "name": {"type": "string"}, "description": {"type": "string"},
                          "device_count": COUNT})
#: ``list``: every active list, or (with device_list_id) one list's devices
LIST_BODY = {"oneOf": [
    closed_object({"code": {"const": 200}, "device_lists": {"type": "array", "items": LIST_ROW}, "count": COUNT}),
    closed_object({"code": {"const": 200}, "devices": {"type": "array", "items": closed_object(
        {"device": {"type": "string"}})}, "count": COUNT}),
]}
#: ``append`` and ``deleteDevices``
DEVICES_RESULT_BODY = closed_object({"device_list_id": LIST_ID, "processed_devices": COUNT, "failed_devices": COUNT})
SUCCESS = {
    "create": success(CREATE_BODY, "the new list's id"),
    "list": success(LIST_BODY, "the active lists, or one list's devices"),
    "append": success(DEVICES_RESULT_BODY, "how many devices were added and how many lines were refused"),
    "delete": success(None, "deleted: an empty body"),
    "deleteDevices": success(DEVICES_RESULT_BODY, "how many devices were removed and how many lines were not"),
}


def allowed_methods(path: str, strict: bool) -> list[str]:
    """The methods a command path answers (``Allow`` of a 405); none for an unknown command."""
    command = COMMANDS.get(path.removeprefix(ROOT + "/"))
    if command is None:
        return []
    return [command.documented_method] if strict else list(LENIENT_METHODS)


class Routes:
    """The route table and its handlers, bound to the vendor for its options and the core's store."""

    def __init__(self, vendor: AppLovin) -> None:
        self.vendor = vendor
        self.store = vendor.ctx.store
        self.handlers: dict[str, Callable[[web.Request, Query, int], Awaitable[web.StreamResponse]]] = {
            "create": self.create, "list": self.list_, "append": self.append, "delete": self.delete,
            "deleteDevices": self.delete_devices,
        }

    # -- wiring ------------------------------------------------------------------------------
    def table(self) -> list[Route]:
        return [
            Route(method, command.path, self._endpoint(command), command.summary, doc=_doc(command))
            for command in COMMANDS.values()
            for method in LENIENT_METHODS
        ]

    def _endpoint(self, command: Command) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        run = self.handlers[command.name]

        async def endpoint(request: web.Request) -> web.StreamResponse:
            try:
                if self.vendor.option("methods") == "strict" and request.method != command.documented_method:
                    raise errors.method_not_allowed(request.method, [command.documented_method])
                query = Query(request.rel_url.raw_query_string, self.vendor.option("plus_sign") == "space")
                account = await self._authenticate(request, query)
                self._check_param_names(query, command)
                return await run(request, query, account)
            except ApiError as exc:
                raise errors.shaped(exc, self.vendor.option("error_body")) from None
        endpoint.__name__ = f"applovin_{command.name}"
        return endpoint

    async def _authenticate(self, request: web.Request, query: Query) -> int:
        """The account id of ``api_key``; 403 for a missing, repeated, empty or unknown key.
        With ``--auth open`` an unknown key becomes a new, empty account."""
        values = query.values.get("api_key") or []
        if len(values) != 1 or not values[0]:
            raise errors.forbidden()
        return await self.vendor.tenant(request, storage.account_id, storage.ensure_account, values[0],
                                        refusal=errors.forbidden)

    def _check_param_names(self, query: Query, command: Command) -> None:
        if self.vendor.option("unknown_params") != "reject":
            return
        known = {"api_key", *command.params}
        for name in query.names():
            if name not in known:
                raise errors.bad_request(f"Unknown parameter: {name}")

    def _required_list_id(self, query: Query) -> str:
        list_id = query.get("device_list_id")
        if list_id is None:
            raise errors.bad_request("Missing required parameter: device_list_id")
        return list_id

    # -- commands ----------------------------------------------------------------------------
    async def create(self, request: web.Request, query: Query, account: int) -> web.StreamResponse:
        name = query.get("name")
        if name is None:
            raise errors.bad_request("Missing required parameter: name")
        if not is_valid_name(name):
            raise errors.bad_request("Invalid name: use letters, digits, _ - + or spaces")
        description = query.get("description") or ""
        list_id = await self.store.write(storage.create_list, account, name, description)
        return json_response({"device_list_id": list_id})

    async def list_(self, request: web.Request, query: Query, account: int) -> web.StreamResponse:
        list_id = query.get("device_list_id")
        if list_id is None:
            lists = self.store.read(storage.active_lists, account)
            return json_response({"code": 200, "device_lists": lists, "count": len(lists)})
        devices = self.store.read(storage.list_devices, account, list_id)
        return json_response({"code": 200, "devices": [{"device": d} for d in devices], "count": len(devices)})

    async def delete(self, request: web.Request, query: Query, account: int) -> web.StreamResponse:
        await self.store.write(storage.delete_list, account, self._required_list_id(query))
        return make_response(200, None, content_type=errors.EMPTY_CONTENT_TYPE)

    async def append(self, request: web.Request, query: Query, account: int) -> web.StreamResponse:
        list_id, lines = await self._device_body(request, query, account)
        await self.store.write(storage.append_devices, account, list_id, lines.valid)
        return _devices_result(list_id, len(lines.valid), lines.invalid)

    async def delete_devices(self, request: web.Request, query: Query, account: int) -> web.StreamResponse:
        list_id, lines = await self._device_body(request, query, account)
        removed = await self.store.write(storage.delete_devices, account, list_id, lines.valid)
        return _devices_result(list_id, removed, lines.total - removed)

    async def _device_body(self, request: web.Request, query: Query, account: int) -> tuple[str, DeviceLines]:
        """``append``/``deleteDevices``: the list id (checked to exist, 404 before any body
        problem) and the parsed device lines; 400 for a GET, an oversized or blank body."""
        list_id = self._required_list_id(query)
        self.store.read(storage.require_active_list, account, list_id)
        if request.method != "POST":
            raise errors.bad_request("Missing device list: send the devices in a POST body")
        limit = self.vendor.option("max_body_bytes")
        try:
            body = await read_body(request, limit)
        except BodyError as exc:
            if exc.kind != "too_large":  # a broken Content-Encoding
                raise errors.bad_request("Request body could not be decoded") from None
            raise errors.bad_request(f"Request body is larger than {limit} bytes") from None
        lines = parse_device_lines(body)
        if lines.total == 0:
            raise errors.bad_request("Missing device list: the POST body has no devices")
        return list_id, lines


def _devices_result(list_id: str, processed: int, failed: int) -> web.Response:
    return json_response({"device_list_id": list_id, "processed_devices": processed, "failed_devices": failed})


def _doc(command: Command) -> dict[str, Any]:
    """OpenAPI fragments: query parameters, the device body, the documented statuses."""
    params: list[dict[str, Any]] = [
        {"name": "api_key", "in": "query", "required": True, "schema": {"type": "string"},
         "description": "the account's Management Key"},
    ]
    for name in command.params:
        required = name == "name" or (name == "device_list_id" and command.name != "list")
        params.append({"name": name, "in": "query", "required": required, "schema": {"type": "string"}})
    doc: dict[str, Any] = {"parameters": params, "responses": {
        "200": SUCCESS[command.name], "400": "malformed request, missing or invalid data",
        "403": "authentication failed", "404": "unknown or deleted device list"}}
    if command.name == "create":
        doc["responses"]["406"] = "an active list with the same name exists already"
    if command.documented_method == "POST":
        doc["requestBody"] = {"type": "string", "description":
                              f"newline-separated device models, at most {MAX_DEVICE_CHARS} characters each"}
    return doc
