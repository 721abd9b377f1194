"""JPush: wired into the core, routes still to come."""
from __future__ import annotations

from ...vendor import Vendor


class JPush(Vendor):
    name = "jpush"
    title = "JPush"
    path_roots = frozenset({"v3"})
