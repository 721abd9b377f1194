"""Pusher Beams: wired into the core, routes still to come."""
from __future__ import annotations

from ...vendor import Vendor


class Beams(Vendor):
    name = "beams"
    title = "Pusher Beams"
    path_roots = frozenset({"device_api", "instances", "publish_api", "customer_api", "user_api", "reporting_api"})
