"""Shared bits of the reliability suite: the registered vendors, error-shape
checks against the served OpenAPI document, and small HTTP helpers."""
from __future__ import annotations

import logging

import json
import time
from typing import Any

import jsonschema
import jwt
import requests

from emulator.vendors import REGISTRY
from tests.contract import contract_for
from tests.credentials import BEAMS_INSTANCE, BEAMS_SECRET

#: the registered vendors' names, in registry order
VENDORS = tuple(cls.name for cls in REGISTRY)


def beams_jwt(user: str, *, instance: str = BEAMS_INSTANCE, secret: str = BEAMS_SECRET) -> str:
    """A Beams user token as the server SDKs sign it (HS256 with the instance's secret key)."""
    payload = {"sub": user, "iss": f"https://{instance}.pushnotifications.pusher.com",
               "exp": int(time.time()) + 3600}
    return jwt.encode(payload, secret, algorithm="HS256")


def beams_fcm_token(tag: str) -> str:
    return "fcm-token:" + "".join(c if c.isalnum() or c in "_-:." else "_" for c in tag)


# -- error shapes -------------------------------------------------------------------------
#: Beams' real server is Go: a path or method no handler serves gets net/http's plain text.
#: The Beams docs/tests document exactly these two bodies (tests/beams/beams_helpers.assert_go_404).
GO_PLAIN = {(404, b"404 page not found\n"), (405, b"Method Not Allowed\n")}


def vendor_of(openapi: dict[str, Any], path: str, method: str) -> str | None:
    op = openapi["paths"].get(path, {}).get(method.lower())
    if op is None:
        return None
    tag = op["tags"][0]
    return None if tag == "control plane" else tag


def shape_problem(openapi: dict[str, Any], vendor: str, status: int, content: bytes,
                  headers: Any) -> str | None:
    """None when an error answer is in ``vendor``'s shape, else what is wrong with it."""
    if status >= 500:
        return f"{status} (server error)"
    text = content.decode("utf-8", "replace")
    if "Traceback" in text or "<html" in text.lower():
        return f"traceback or HTML page: {text[:200]!r}"
    if contract_for(vendor).error_body_ok(status, content):  # e.g. Beams' Go plain text, AppLovin's empty body
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return f"not JSON: {text[:200]!r}"
    schema = {**openapi["components"]["schemas"][f"{vendor}_error"],
              "components": openapi["components"]}
    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError as exc:
        return f"not in {vendor}_error shape ({exc.message}): {text[:200]!r}"
    return None


def assert_vendor_error(openapi, vendor: str, resp: requests.Response, what: str = "") -> None:
    problem = shape_problem(openapi, vendor, resp.status_code, resp.content, resp.headers)
    assert problem is None, f"{what}: {resp.request.method} {resp.request.url[:200]} -> {problem}"


def state(url: str, vendor: str | None = None) -> dict[str, Any]:
    params = {"vendor": vendor} if vendor else None
    r = requests.get(f"{url}/_emulator/state", params=params, timeout=60)
    r.raise_for_status()
    doc = r.json()
    return doc[vendor] if vendor else doc


def openapi(url: str) -> dict[str, Any]:
    r = requests.get(f"{url}/_emulator/openapi.json", timeout=30)
    r.raise_for_status()
    return r.json()


def vm_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class ServerErrors(logging.Handler):
    """Collects the error records the emulator or aiohttp log while a test runs (the server runs
    in-process, so a logged traceback is visible to the test)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("emulator", "aiohttp")):
            self.records.append(f"{record.name}: {record.getMessage()} {record.exc_text or ''}"[:600])
