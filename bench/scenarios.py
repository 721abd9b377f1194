"""The benchmarked routes, as wrk request templates, and their pre-flight.

Each scenario builds a :class:`~bench.wrk.RequestSpec` for one server (some need per-server
setup, e.g. Beams device ids are made by the server), then one request rendered exactly as
wrk's first request is sent: anything but a 2xx marks the scenario "unavailable" for the
run (a vendor not landed yet, or a changed route) instead of crashing the harness.
"""
from __future__ import annotations

import base64
import http.client as httpclient
import json
import os
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable
from urllib.parse import urlsplit

from . import fixtures
from .wrk import RequestSpec, body_for, render

JSON_CT = {"Content-Type": "application/json"}
BEAMS_DEVICES_FOR_INTERESTS = 64


class Unavailable(Exception):
    """The server does not serve this scenario (yet)."""


def http_request(base: str, method: str, path: str, headers: dict[str, str] | None = None,
         body: bytes | str | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
    parts = urlsplit(base)
    conn = httpclient.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Tenants:
    beams_instance: str
    jpush_key: str
    jpush_secret: str
    capgo_app: str
    capgo_key: str
    moe_app: str
    moe_key: str

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Tenants:
        capgo = doc["capgo"]
        key = next((k["key"] for k in capgo["api_keys"] if k.get("mode") == "all"), capgo["api_keys"][0]["key"])
        jpush = doc["jpush"]["apps"][0]
        moe = doc["moengage"]["workspaces"][0]
        return cls(
            beams_instance=doc["beams"]["instances"][0]["instance_id"],
            jpush_key=jpush["app_key"], jpush_secret=jpush["master_secret"],
            capgo_app=capgo["apps"][0]["app_id"], capgo_key=key,
            moe_app=moe["app_id"], moe_key=moe["api_key"],
        )


def preflight(base: str, spec: RequestSpec, n: int = 0, run: str = "0000000f") -> tuple[int, bytes]:
    """Send the request wrk would send as its ``n``-th, rendered the same way."""
    body = body_for(spec, n)
    return http_request(base, spec.method, render(spec.path, spec, n, run),
                headers=spec.headers, body=render(body, spec, n, run) if body is not None else None)


def _require_2xx(what: str, status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        raise Unavailable(f"{what} -> {status} {body[:200].decode(errors='replace')}")


# -- the scenarios ------------------------------------------------------------------------------

def beams_register(base: str, t: Tenants) -> RequestSpec:
    return RequestSpec(
        "POST", f"/device_api/v1/instances/{t.beams_instance}/devices/apns", dict(JSON_CT),
        bodies=['{"token":"${hex}","bundleIdentifier":"com.example.app",'
                '"metadata":{"sdkVersion":"4.0.0","iosVersion":"17.0"}}'])


def beams_set_interests(base: str, t: Tenants) -> RequestSpec:
    register = beams_register(base, t)
    ids = []
    run = os.urandom(4).hex()
    for n in range(BEAMS_DEVICES_FOR_INTERESTS):
        status, body = preflight(base, register, n, run)
        _require_2xx("register (for set interests)", status, body)
        ids.append(json.loads(body)["id"])
    return RequestSpec(
        "PUT", f"/device_api/v1/instances/{t.beams_instance}/devices/apns/${{id}}/interests", dict(JSON_CT),
        bodies=['{"interests":["bench","news","sports"]}', '{"interests":["bench","weather"]}'], ids=ids)


def _jpush_headers(t: Tenants, body: bool = False) -> dict[str, str]:
    headers = {"Authorization": _basic(t.jpush_key, t.jpush_secret), "Accept": "application/json"}
    if body:
        headers.update(JSON_CT)
    return headers


def jpush_get_device(base: str, t: Tenants) -> RequestSpec:
    return RequestSpec("GET", "/v3/devices/${id}", _jpush_headers(t),
                       ids=[fixtures.jpush_rid(i) for i in range(fixtures.JPUSH_DEVICES)])


def jpush_tag_update(base: str, t: Tenants) -> RequestSpec:
    return RequestSpec(
        "POST", "/v3/tags/benchtag", _jpush_headers(t, body=True),
        bodies=['{"registration_ids":{"add":["${id}"]}}', '{"registration_ids":{"remove":["${id}"]}}'],
        ids=[fixtures.jpush_rid(i) for i in range(fixtures.JPUSH_DEVICES)])


def capgo_list_page(base: str, t: Tenants) -> RequestSpec:
    return RequestSpec("GET", f"/device?app_id={t.capgo_app}", {"authorization": t.capgo_key})


def moengage_track_device(base: str, t: Tenants) -> RequestSpec:
    headers = {"Authorization": _basic(t.moe_app, t.moe_key), **JSON_CT}
    return RequestSpec(
        "POST", f"/v1/device/{t.moe_app}", headers,
        bodies=['{"type":"device","customer_id":"${id}","device_id":"bench-${run}-${n}",'
                '"attributes":{"platform":"ANDROID","push_id":"fcm-token-${n}","app_version":"1.0.0",'
                '"os_version":"14","model":"Pixel 8","moe_push_opted":"True"}}'],
        ids=[fixtures.moengage_customer(i) for i in range(fixtures.MOENGAGE_CUSTOMERS)])


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    kind: str                      # "write" (ratio vs the naive baseline) or "read" (also vs bare)
    build: Callable[[str, Tenants], RequestSpec]


SCENARIOS = [
    Scenario("beams_register", "Beams register (POST devices/apns)", "write", beams_register),
    Scenario("beams_set_interests", "Beams set interests (PUT …/interests)", "write", beams_set_interests),
    Scenario("jpush_get_device", "JPush get device (GET /v3/devices/{rid})", "read", jpush_get_device),
    Scenario("jpush_tag_update", "JPush tag update (POST /v3/tags/{tag})", "write", jpush_tag_update),
    Scenario("capgo_list_page", "Capgo list page (GET /device?app_id=)", "read", capgo_list_page),
    Scenario("moengage_track_device", "MoEngage track device (POST /v1/device/{app})", "write",
             moengage_track_device),
]


def prepare(scenario: Scenario, base: str, tenants: Tenants) -> tuple[RequestSpec, int, bytes]:
    """Build the scenario's spec for the server at ``base`` and pre-flight it; raises
    :class:`Unavailable` (with the status and the start of the body) when it is not served."""
    try:
        spec = scenario.build(base, tenants)
        status, body = preflight(base, spec)
    except (OSError, httpclient.HTTPException, ValueError, KeyError) as exc:
        raise Unavailable(f"{type(exc).__name__}: {exc}") from None
    _require_2xx(f"{spec.method} {spec.path}", status, body)
    return spec, status, body
