"""The OpenAPI document: valid 3.1, and in both directions equal to what is served."""
from __future__ import annotations

import re

import requests
from aiohttp.test_utils import make_mocked_request
from openapi_spec_validator import validate

from emulator import Config, create_app
from emulator.context import CONTEXT
from emulator.openapi import PARAM, openapi_path

SAMPLES = ["apns", "fcm", "web", "sample1", "com.example.app", "1", "a", "create"]


def _concrete(route) -> str:
    """The canonical path with each parameter replaced by a value its pattern accepts."""
    regexes = {m.group(1): m.group(0)[len(m.group(1)) + 2:-1] or "[^{}/]+"
               for m in PARAM.finditer(route.pattern or route.path)}

    def value(match: re.Match) -> str:
        regex = regexes.get(match.group(1)) or "[^{}/]+"
        # a pattern may fold neighbouring slashes into the parameter: then any plain value
        # does, and resolving the whole path below is the real check
        return next((c for c in SAMPLES if re.fullmatch(regex, c)), "sample1")

    return PARAM.sub(value, route.path)


def test_document_is_valid_openapi_3_1(device_emulator):
    doc = requests.get(device_emulator.url + "/_emulator/openapi.json").json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    assert "/_emulator/health" in doc["paths"]


async def test_every_served_route_is_documented_and_every_documented_route_is_served():
    app = create_app(Config(db=":memory:"))
    ctx = app[CONTEXT]
    from emulator.openapi import build_openapi

    doc = build_openapi(ctx)
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    table = {(route.method, openapi_path(route.path)[0]): route for _, route in ctx.routes}
    assert set(table) == documented

    # served -> documented: every route the router holds comes from the table
    handlers = {(route.method, route.handler) for route in table.values()}
    for aio_route in app.router.routes():
        assert (aio_route.method, aio_route.handler) in handlers, aio_route

    # documented -> served: a request to each documented path reaches that route's handler
    for (method, path), route in table.items():
        concrete = _concrete(route)
        match = await app.router.resolve(make_mocked_request(method, concrete, app=app))
        assert match.http_exception is None, f"{method} {path} ({concrete}) is not served"
        assert match.handler == route.handler, f"{method} {concrete} reaches {match.handler}"
    ctx.store.close()
