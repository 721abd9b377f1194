"""AppLovin Device Model Targeting ("Custom Device List") API: ``/devices/{command}``.

Accounts are api keys; each owns device lists (name, description, device models). The seed
gives statuses only; the notes' proposals fill in bodies, methods and device rules (see
docs/vendors/applovin.md for every decision)."""
from __future__ import annotations

from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Route, Vendor
from . import errors, fixtures
from .routes import Commands
from . import storage
from .storage import MIGRATIONS

DEFAULT_MAX_BODY = 1024 * 1024


class AppLovin(Vendor):
    name = "applovin"
    title = "AppLovin"
    path_roots = frozenset({"devices"})
    hosts = ("api.applovin.com",)
    browse = storage.BROWSE
    security_schemes = {"applovin_api_key": {"type": "apiKey", "in": "query", "name": "api_key",
                                             "description": "the account's management key"}}
    security = [{"applovin_api_key": []}]
    fixture_io = fixtures
    migrations = MIGRATIONS
    options = {
        "error_body": Option("json", 'json: errors carry {"code":<status>,"message":...}; '
                             "empty: status code only, no body (the seed documents only codes)",
                             choices=("json", "empty")),
        "methods": Option("lenient", "lenient: every command answers GET and POST (append/deleteDevices "
                          "need a POST body, a GET gets 400); strict: only the seed's method, others 405",
                          choices=("lenient", "strict")),
        "unknown_params": Option("reject", "reject: an unknown query parameter is a 400; ignore: skip it",
                                 choices=("reject", "ignore")),
        "plus_sign": Option("space", "space: '+' in the query is a space (form decoding), '%2B' a plus; "
                            "literal: '+' is a plus, a space must be '%20'", choices=("space", "literal")),
        "max_body_bytes": Option(DEFAULT_MAX_BODY, "largest append/deleteDevices body; larger is a 400",
                                 kind=int),
    }
    error_schema = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
        "additionalProperties": False,
    }

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.commands = Commands(self)

    @property
    def strict_methods(self) -> bool:
        return self.option("methods") == "strict"

    def routes(self) -> list[Route]:
        return self.commands.routes()

    # -- errors ------------------------------------------------------------------------------
    def shape(self, exc: ApiError) -> ApiError:
        """Apply ``error_body``: the JSON body, or none at all."""
        return errors.as_empty(exc) if self.option("error_body") == "empty" else exc

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return self.shape(errors.error(status))

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        if status == 405:
            exc = errors.method_not_allowed(request.method, self.commands.allowed_methods(request.path))
        else:
            exc = errors.unknown_command(request.path)
        return self.shape(exc)

