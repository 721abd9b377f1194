"""Seeded random bodies against every route: MoEngage answers (200 or its 400 envelope), never a 500."""
from __future__ import annotations

import json
import random

import pytest

from tests.moengage.moengage_client import CUSTOMER, error_of

LEAVES = [None, True, False, 0, -1, 1.5, 10**30, "", "x", "ANDROID", "android", "web", CUSTOMER, "\u00e9\u4e2d",
          "device", "customer", "event", "transition"]
KEYS = ["type", "customer_id", "device_id", "attributes", "platform", "push_id", "actions", "action",
        "elements", "update_existing_only", "platforms", "unset_attributes", "addValueToArrayField",
        "removeValueFromArrayField", "user_identifiers", "attr", "case_sensitive", "z"]


def random_value(rng: random.Random, depth: int) -> object:
    roll = rng.random()
    if depth <= 0 or roll < 0.4:
        return rng.choice(LEAVES)
    if roll < 0.7:
        return {rng.choice(KEYS): random_value(rng, depth - 1) for _ in range(rng.randint(0, 5))}
    return [random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]


def random_body(rng: random.Random, kind: str) -> dict:
    body = {k: random_value(rng, 3) for k in rng.sample(KEYS, rng.randint(0, 6))}
    if rng.random() < 0.7:
        body["type"] = kind
    if rng.random() < 0.6:
        body["customer_id"] = CUSTOMER
    return body


@pytest.mark.parametrize("kind", ["device", "customer", "event", "transition"])
def test_random_bodies_never_crash(api, kind):
    rng = random.Random(f"moengage-{kind}")
    for _ in range(150):
        body = random_body(rng, kind)
        resp = api.post(kind, data=json.dumps(body).encode())
        assert resp.status_code in (200, 400), (body, resp.status_code, resp.text)
        if resp.status_code == 400:
            error_of(resp)
