"""AppLovin: wired into the core, routes still to come."""
from __future__ import annotations

from ...vendor import Vendor


class AppLovin(Vendor):
    name = "applovin"
    title = "AppLovin"
    path_roots = frozenset({"devices"})
