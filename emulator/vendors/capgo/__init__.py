"""Capgo: the public ``/device`` API (documented and live profiles) and the device-side plugin
endpoints (``/stats``, ``/updates``) that create devices and serve bundles."""
from __future__ import annotations

import sqlite3

from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Vendor
from . import errors
from . import routes


class Capgo(Vendor):
    name = "capgo"
    title = "Capgo"
    path_roots = frozenset({"device", "stats", "updates", "channel_self"})
    hosts = ("api.capgo.app", "plugin.capgo.app")
    security_schemes = {"capgo_api_key": {"type": "apiKey", "in": "header", "name": "authorization",
                                          "description": "an API key (the capgkey header is accepted too)"}}
    security = [{"capgo_api_key": []}]
    options = {
        "profile": Option(
            "documented",
            "documented: the Devices API as the docs describe it (pages, {error,status:KO}, key modes, "
            "version pins); live: today's api.capgo.app (cursor pages, {error,message,moreInfo}, no pins)",
            choices=("documented", "live"),
        ),
        "rate_limit": Option(
            False,
            "the production (Cloudflare) limits of /device (live profile) and /channel_self: 5 calls per "
            "second per app+device+operation, one identical channel set per app+device per minute, 1000 "
            "calls per minute per app+client IP; 429 too_many_requests",
            kind=bool,
        ),
    }

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return errors.generic_error(status, self.option("profile"))

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        return errors.not_found_route(self.option("profile"))

    # -- the delivery ledger -----------------------------------------------------------------
    def explain_miss(self, conn: sqlite3.Connection, tenant: str, publish_id: str, device_id: str) -> str | None:
        return routes.explain_miss(conn, tenant, publish_id, device_id)

    def invalidate_token(self, conn: sqlite3.Connection, tenant: str, device_id: str, reason: str) -> bool:
        return routes.invalidate_token(conn, tenant, device_id)
