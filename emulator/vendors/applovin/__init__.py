"""AppLovin Device Model Targeting ("Custom Device List") API: ``/devices/{command}``.

Accounts are api keys; each owns device lists (name, description, device models). AppLovin
documents the commands and their statuses only; docs/vendors/applovin.md gives every choice
made beyond that (bodies, methods, device rules) and why."""
from __future__ import annotations

from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Vendor
from . import errors
from .routes import allowed_methods

DEFAULT_MAX_BODY = 1024 * 1024


class AppLovin(Vendor):
    name = "applovin"
    title = "AppLovin"
    path_roots = frozenset({"devices"})
    hosts = ("api.applovin.com",)
    security_schemes = {"applovin_api_key": {"type": "apiKey", "in": "query", "name": "api_key",
                                             "description": "the account's management key"}}
    security = [{"applovin_api_key": []}]
    options = {
        "error_body": Option("json", 'json: errors carry {"code":<status>,"message":...}; '
                             "empty: status code only, no body (AppLovin documents only the codes)",
                             choices=("json", "empty")),
        "methods": Option("lenient", "lenient: every command answers GET and POST (append/deleteDevices "
                          "need a POST body, a GET gets 400); strict: only the documented method, others 405",
                          choices=("lenient", "strict")),
        "unknown_params": Option("reject", "reject: an unknown query parameter is a 400; ignore: skip it",
                                 choices=("reject", "ignore")),
        "plus_sign": Option("space", "space: '+' in the query is a space (form decoding), '%2B' a plus; "
                            "literal: '+' is a plus, a space must be '%20'", choices=("space", "literal")),
        "max_body_bytes": Option(DEFAULT_MAX_BODY, "largest append/deleteDevices body; larger is a 400",
                                 kind=int),
    }

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return errors.generic_error(status, self.option("error_body"))

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        if status == 405:
            exc = errors.method_not_allowed(request.method,
                                            allowed_methods(request.path, self.option("methods") == "strict"))
        else:
            exc = errors.unknown_command(request.path)
        return errors.shaped(exc, self.option("error_body"))
