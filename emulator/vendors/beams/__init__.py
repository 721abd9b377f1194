"""Pusher Beams: the Device API its Android, iOS and web SDKs call, the web VAPID key, and
the server-side publish, user-deletion and reporting routes (recorded in the state)."""
from __future__ import annotations

import sqlite3

from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Vendor
from . import errors, storage


class Beams(Vendor):
    name = "beams"
    title = "Pusher Beams"
    path_roots = frozenset({"device_api", "instances", "publish_api", "customer_api", "user_api", "reporting_api"})
    hosts = ("*.pushnotifications.pusher.com",)
    security_schemes = {
        "beams_secret_key": {"type": "http", "scheme": "bearer", "description": "the instance's secret key"},
        "beams_user_token": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                             "description": "a user token signed with the instance's secret key (HS256)"},
    }
    #: the publish, customer and user APIs; the device API routes say none (``routes.table``)
    security = [{"beams_secret_key": []}]
    options = {
        "rate_limit": Option(0, "requests per second per instance allowed on the publish and user APIs before "
                                "429 Rate Limited (the real limit is 100); 0 = off, because the iOS and Android "
                                "SDKs retry a 429 forever", kind=int),
    }
    cors = True

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return errors.generic_error(status)

    def check_proxied_host(self, host: str, request: web.Request) -> ApiError | None:
        """Each instance has its own host, ``<instance>.pushnotifications.pusher.com`` (every SDK
        builds it so, e.g. push-notifications-python ``__init__.py``); a request naming another
        instance in its path is not that instance's: answered as an unknown instance."""
        segments = request.path.split("/")
        if "instances" in segments:
            named = segments[segments.index("instances") + 1:][:1]
            if named and named[0].lower() != host.split(".", 1)[0]:
                return errors.instance_not_found(period=not request.path.startswith(("/publish_api", "/user_api",
                                                                                   "/customer_api")))
        return None

    def unknown_route(self, request: web.Request, status: int) -> ApiError:
        """Go's net/http answers, in plain text."""
        return errors.go_not_found() if status == 404 else errors.go_method_not_allowed()

    # -- delivery ledger: a publish is resolved to devices when it is accepted (storage.record_publish)
    def explain_miss(self, conn: sqlite3.Connection, tenant: str, publish_id: str, device_id: str) -> str | None:
        return storage.explain_miss(conn, tenant, publish_id, device_id)

    def invalidate_token(self, conn: sqlite3.Connection, tenant: str, device_id: str, reason: str) -> bool:
        """The next publish that reaches the device fails with this reason and removes the
        device (storage._deliver)."""
        return storage.device_exists(conn, tenant, device_id)
