"""Fault rules: answer a vendor route with an error in that vendor's shape, add latency,
or drop the connection — matched by vendor, method and a path glob, bounded by ``times``
and a seedable ``probability`` so tests are repeatable."""
from __future__ import annotations

import fnmatch
import itertools
import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from collections.abc import Iterable

RULE_KEYS = ("vendor", "method", "path", "status", "latency_ms", "drop", "times", "probability")
MAX_LATENCY_MS = 60_000


@dataclass
class FaultRule:
    id: int
    vendor: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    latency_ms: int = 0
    drop: bool = False
    times: int | None = None
    probability: float = 1.0
    fired: int = 0
    _regex: re.Pattern | None = field(default=None, repr=False, compare=False)

    def describe(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        out["remaining"] = None if self.times is None else max(0, self.times - self.fired)
        return out

    def matches(self, vendor: str | None, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.vendor is not None and self.vendor != vendor:
            return False
        if self.method is not None and self.method != method:
            return False
        if self._regex is not None and not self._regex.fullmatch(path):
            return False
        return True


class FaultError(ValueError):
    """A rule document is invalid; the message names the key."""


def parse_rule(doc: Any, rule_id: int, vendors: Iterable[str]) -> FaultRule:
    if not isinstance(doc, dict):
        raise FaultError("a fault rule is a JSON object")
    for key in doc:
        if key not in RULE_KEYS:
            raise FaultError(f"{key}: unknown key (allowed: {', '.join(RULE_KEYS)})")
    rule = FaultRule(id=rule_id)
    known = list(vendors)
    vendor = doc.get("vendor")
    if vendor is not None and vendor not in known:
        raise FaultError(f"vendor: expected one of {', '.join(known)}, got {vendor!r}")
    rule.vendor = vendor
    method = doc.get("method")
    if method is not None:
        if not isinstance(method, str) or not method.isalpha():
            raise FaultError("method: expected an HTTP method such as POST")
        rule.method = method.upper()
    path = doc.get("path")
    if path is not None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise FaultError("path: expected a glob starting with / (* matches any run of characters, / included)")
        rule.path = path
        rule._regex = re.compile(fnmatch.translate(path))
    status = doc.get("status")
    if status is not None:
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise FaultError("status: expected an integer from 400 to 599")
        rule.status = status
    latency = doc.get("latency_ms", 0)
    if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= MAX_LATENCY_MS:
        raise FaultError(f"latency_ms: expected an integer from 0 to {MAX_LATENCY_MS}")
    rule.latency_ms = latency
    drop = doc.get("drop", False)
    if not isinstance(drop, bool):
        raise FaultError("drop: expected true or false")
    rule.drop = drop
    times = doc.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise FaultError("times: expected a positive integer (omit it for no limit)")
    rule.times = times
    probability = doc.get("probability", 1.0)
    if isinstance(probability, bool) or not isinstance(probability, (int, float)) or not 0 <= probability <= 1:
        raise FaultError("probability: expected a number from 0 to 1")
    rule.probability = float(probability)
    if rule.status is None and not rule.drop and rule.latency_ms == 0:
        raise FaultError("a rule needs an action: status, latency_ms or drop")
    if rule.status is not None and rule.drop:
        raise FaultError("status and drop exclude each other")
    return rule


class FaultRules:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self.rng = random.Random()

    def add(self, doc: Any, vendors: Iterable[str]) -> FaultRule:
        rule = parse_rule(doc, next(self._ids), vendors)
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self, vendor: str | None = None) -> None:
        if vendor is None:
            self.rules = []
        else:
            self.rules = [r for r in self.rules if r.vendor != vendor]

    def seed(self, seed: int) -> None:
        self.rng.seed(seed)

    def pick(self, vendor: str | None, method: str, path: str) -> FaultRule | None:
        """The first rule that matches and wins its probability roll; counts it as fired."""
        for rule in self.rules:
            if not rule.matches(vendor, method, path):
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            rule.fired += 1
            return rule
        return None
