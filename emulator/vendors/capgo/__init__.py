"""Capgo: wired into the core, routes still to come."""
from __future__ import annotations

from ...vendor import Vendor


class Capgo(Vendor):
    name = "capgo"
    title = "Capgo"
    path_roots = frozenset({"device", "stats", "updates"})
