"""MoEngage Data API: Track User, Track Device, Track Event and Bulk Import, with MoEngage's
Basic auth, error envelope, payload caps and per-workspace rate limits."""
from __future__ import annotations

from aiohttp import web

from ...errors import ApiError
from ...vendor import Option, Vendor
from . import errors


class MoEngage(Vendor):
    name = "moengage"
    title = "MoEngage"
    path_roots = frozenset({"v1"})
    hosts = ("api-0*.moengage.com",)
    security_schemes = {"moengage_basic": {"type": "http", "scheme": "basic",
                                           "description": "workspace id : Data API key"}}
    security = [{"moengage_basic": []}]
    options = {
        "rate_limit": Option(True, "enforce the per-workspace per-minute limits (429) and send x-ratelimit-*",
                             kind=bool),
        "device_rate_limit": Option(10_000, "device updates per minute per workspace (/v1/device)", kind=int),
        "customer_rate_limit": Option(10_000, "user updates per minute per workspace (/v1/customer)", kind=int),
        "event_rate_limit": Option(30_000, "events (actions) per minute per workspace (/v1/event)", kind=int),
        "bulk_user_rate_limit": Option(60_000, "customer+device elements per minute per workspace (/v1/transition)",
                                       kind=int),
        "bulk_event_rate_limit": Option(60_000, "event actions per minute per workspace (/v1/transition)", kind=int),
        "strict_customer": Option(False, "a device for an unknown customer answers 400 Not Found instead of "
                                         "200 + recorded as dropped", kind=bool),
        "device_id_fallback": Option(False, "a device without device_id is keyed by its customer_id instead of "
                                            "400 MissingAttributeError", kind=bool),
        "strict_platform_case": Option(False, "platform must be spelled exactly ANDROID/iOS/web/TV (default: "
                                              "any case, stored canonical)", kind=bool),
        "success_request_id": Option(False, "add request_id to success bodies (as the Data-API overview shows)",
                                     kind=bool),
        "max_body_bytes": Option(131_072, "body cap of /v1/device, /v1/customer, /v1/event (413 above)", kind=int),
        "max_bulk_body_bytes": Option(102_400, "body cap of /v1/transition (413 above)", kind=int),
    }

    def generic_error(self, request: web.Request, status: int) -> ApiError:
        return errors.generic_error(status, request.path)
