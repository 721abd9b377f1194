"""MoEngage: wired into the core, routes still to come."""
from __future__ import annotations

from ...vendor import Vendor


class MoEngage(Vendor):
    name = "moengage"
    title = "MoEngage"
    path_roots = frozenset({"v1"})
