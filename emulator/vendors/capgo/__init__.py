"""Capgo: the public ``/device`` API (documented and live profiles) and the device-side
``/stats`` and ``/updates`` check-ins that create devices and serve bundles."""
from __future__ import annotations

from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Route, Vendor
from . import errors, fixtures, storage
from .device_api import DeviceApi
from .plugin import PluginApi

#: hono matches ``/device`` and ``/device/`` alike
DEVICE_PATTERN = r"/device{slash:/?}"


class Capgo(Vendor):
    name = "capgo"
    title = "Capgo"
    path_roots = frozenset({"device", "stats", "updates"})
    hosts = ("api.capgo.app", "plugin.capgo.app")
    browse = storage.BROWSE
    security_schemes = {"capgo_api_key": {"type": "apiKey", "in": "header", "name": "authorization",
                                          "description": "an API key (the capgkey header is accepted too)"}}
    security = [{"capgo_api_key": []}]
    fixture_io = fixtures
    migrations = storage.MIGRATIONS
    options = {
        "profile": Option(
            "documented",
            "documented: the Devices API as the docs describe it (pages, {error,status:KO}, key modes, "
            "version pins); live: today's api.capgo.app (cursor pages, {error,message,moreInfo}, no pins)",
            choices=("documented", "live"),
        ),
        "rate_limit": Option(
            False,
            "live profile only: the production (Cloudflare) limits of /device: 5 calls per second per "
            "app+device+operation, one identical channel link per app+device per minute, 1000 calls per "
            "minute per app+client IP; 429 too_many_requests",
            kind=bool,
        ),
    }
    error_schema = {
        "oneOf": [
            {"type": "object", "required": ["error", "status"],
             "properties": {"error": {"type": "string"}, "status": {"const": "KO"}}},
            {"type": "object", "required": ["error", "message"],
             "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                            "moreInfo": {"type": "object"}}},
        ]
    }

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.devices = DeviceApi(self)
        self.plugin = PluginApi(self)

    def routes(self) -> list[Route]:
        key_doc = {"parameters": [
            {"name": "authorization", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "API key (or the capgkey header)"},
        ]}
        get_doc = {"parameters": key_doc["parameters"] + [
            {"name": n, "in": "query", "required": n == "app_id", "schema": {"type": "string"}}
            for n in ("app_id", "device_id", "page", "limit", "cursor", "order", "updated_at", "customIdMode")
        ], "responses": {"200": "one device, or a page of devices"}}
        link_body = {"type": "object", "required": ["app_id", "device_id"], "properties": {
            "app_id": {"type": "string"}, "device_id": {"type": "string"},
            "channel": {"type": "string"}, "version_id": {"type": "string"}}}
        plugin_body = {"type": "object", "required": ["app_id", "device_id", "platform", "version_name"]}
        return [
            Route("GET", "/device", self.devices.handler("get"), "List devices or read one", pattern=DEVICE_PATTERN,
                  doc=get_doc),
            Route("POST", "/device", self.devices.handler("post"), "Link a device to a channel (or pin a version)",
                  pattern=DEVICE_PATTERN, doc={**key_doc, "requestBody": link_body,
                                               "responses": {"200": '{"status":"ok"}'}}),
            Route("DELETE", "/device", self.devices.handler("delete"), "Remove a device's overrides",
                  pattern=DEVICE_PATTERN, doc={**key_doc, "requestBody": link_body,
                                               "responses": {"200": '{"status":"ok"}'}}),
            Route("POST", "/stats", self.plugin.stats, "Device-side stats check-in (no key)",
                  doc={"requestBody": plugin_body, "responses": {"200": '{"status":"ok"}'}}),
            Route("POST", "/updates", self.plugin.updates, "Device-side update check (no key)",
                  doc={"requestBody": plugin_body, "responses": {"200": "the bundle to run, or an error code"}}),
        ]


    # -- errors -------------------------------------------------------------------------------
    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return errors.generic(self.option("profile"), status)

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        return errors.not_found_route(self.option("profile"))
