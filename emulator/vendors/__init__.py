"""The vendor registry: one line per vendor. A vendor is a package in this folder whose
entry class implements :class:`emulator.vendor.Vendor`."""
from __future__ import annotations

from .applovin import AppLovin
from .beams import Beams
from .capgo import Capgo
from .jpush import JPush
from .moengage import MoEngage

REGISTRY = [
    Capgo,
    MoEngage,
    Beams,
    JPush,
    AppLovin,
]
