"""The OpenAPI document: valid 3.1, and in both directions equal to what is served."""
from __future__ import annotations

import inspect
import re

import requests
from aiohttp.test_utils import make_mocked_request
from openapi_spec_validator import validate

from emulator import Config, create_app
from emulator.app import UNMATCHED
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
        if aio_route.name != UNMATCHED:  # the catch-all answering what no route serves
            assert (aio_route.method, inspect.unwrap(aio_route.handler)) in handlers, aio_route

    # documented -> served: a request to each documented path reaches that route's handler
    for (method, path), route in table.items():
        concrete = _concrete(route)
        match = await app.router.resolve(make_mocked_request(method, concrete, app=app))
        assert match.route.name != UNMATCHED, f"{method} {path} ({concrete}) is not served"
        assert inspect.unwrap(match.handler) == route.handler, f"{method} {concrete} reaches {match.handler}"
    ctx.store.close()


async def test_a_widening_pattern_s_usual_spelling_is_found_in_the_router_s_index():
    """A route whose pattern only widens its path (exact_first) is also registered at the path
    itself, so the router finds it by the path's prefix; the pattern still serves the variants (a
    trailing slash, which every widening pattern here accepts)."""
    app = create_app(Config(db=":memory:"))
    ctx = app[CONTEXT]
    widened = [route for _, route in ctx.routes if route.exact_first]
    assert {route.path for route in widened} >= {"/device", "/v3/devices/{registration_id}", "/v3/tags/"}
    for route in widened:
        concrete = _concrete(route)
        match = await app.router.resolve(make_mocked_request(route.method, concrete, app=app))
        assert inspect.unwrap(match.handler) == route.handler and match.route.resource.canonical == route.path, concrete
        variant = await app.router.resolve(make_mocked_request(route.method, concrete + "/", app=app))
        assert inspect.unwrap(variant.handler) == route.handler and variant.route.resource.canonical != route.path, concrete
    ctx.store.close()


# -- the document as a contract ---------------------------------------------------------------

def _built_document() -> dict:
    from emulator.openapi import build_openapi

    app = create_app(Config(db=":memory:"))
    ctx = app[CONTEXT]
    try:
        return build_openapi(ctx)
    finally:
        ctx.store.close()


def _walk(node, where: str = "#"):
    """Every (JSON pointer, object) in the document."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}/{i}")


def test_every_route_declares_its_success_response():
    """Vendor and control routes alike: a 2xx with a schema (or, for an empty answer, a
    description of its own), never the generator's placeholder."""
    from emulator.openapi import UNDECLARED

    doc = _built_document()
    missing = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
            if not successes or any(r["description"] == UNDECLARED for r in successes.values()):
                missing.append(f"{method.upper()} {path}")
    assert not missing, "routes without a declared success response: " + ", ".join(missing)
    # both kinds are there to be checked
    tags = {op["tags"][0] for ops in doc["paths"].values() for op in ops.values()}
    assert {"control plane", "beams", "jpush", "moengage", "applovin", "capgo"} <= tags


def test_every_array_has_items():
    doc = _built_document()
    bare = [where for where, node in _walk(doc)
            if (node.get("type") == "array" or (isinstance(node.get("type"), list) and "array" in node["type"]))
            and "items" not in node and "prefixItems" not in node]
    assert bare == []


def test_component_names_are_distinct_ignoring_case():
    names = list(_built_document()["components"]["schemas"])
    lowered = [n.lower() for n in names]
    assert sorted(n for n in names if lowered.count(n.lower()) > 1) == []


def test_security_enums_and_servers_as_served(device_emulator):
    """Beams: the device API needs no credential, PUT .../user takes a user token, the server APIs
    the secret key; {platform} lists exactly what the router accepts; servers name the origin
    the document was read from."""
    doc = requests.get(device_emulator.url + "/_emulator/openapi.json").json()
    assert doc["servers"] == [{"url": device_emulator.url}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["beams_secret_key"]["scheme"] == "bearer"
    assert schemes["beams_user_token"]["bearerFormat"] == "JWT"
    paths = doc["paths"]
    for prefix in ("/device_api/v1/instances/{instance}", "/instances/{instance}"):
        device = paths[f"{prefix}/devices/{{platform}}/{{device_id}}"]
        assert device["get"]["security"] == [] and device["delete"]["security"] == []
        assert paths[f"{prefix}/devices/{{platform}}"]["post"]["security"] == []
        assert paths[f"{prefix}/devices/{{platform}}/{{device_id}}/user"]["put"]["security"] == [
            {"beams_user_token": []}]
        platform = next(p for p in device["get"]["parameters"] if p["name"] == "platform")
        assert platform["schema"] == {"type": "string", "enum": ["apns", "fcm", "web"]}
    for path in ("/publish_api/v1/instances/{instance}/publishes/interests",
                 "/publish_api/v1/instances/{instance}/publishes/users"):
        assert paths[path]["post"]["security"] == [{"beams_secret_key": []}]
    for path in ("/customer_api/v1/instances/{instance}/users/{user_id}",
                 "/user_api/v1/instances/{instance}/users/{user_id}"):
        assert paths[path]["delete"]["security"] == [{"beams_secret_key": []}]
    assert paths["/reporting_api/v2/instances/{instance}/events"]["post"]["security"] == []
    assert paths["/v3/devices/{registration_id}"]["get"]["security"] == [{"jpush_basic": []}]
    assert paths["/devices/create"]["get"]["security"] == [{"applovin_api_key": []}]
    assert schemes["applovin_api_key"] == {**schemes["applovin_api_key"], "type": "apiKey", "in": "query",
                                           "name": "api_key"}
    assert schemes["capgo_api_key"] == {**schemes["capgo_api_key"], "type": "apiKey", "in": "header",
                                        "name": "authorization"}
    for method in ("get", "post", "delete"):
        assert paths["/device"][method]["security"] == [{"capgo_api_key": []}]
    for path, methods in (("/updates", ("get", "post")), ("/stats", ("get", "post")),
                          ("/channel_self", ("get", "post", "put", "delete"))):
        for method in methods:
            assert paths[path][method]["security"] == [], (method, path)


def test_the_contract_hook_reports_a_body_that_breaks_the_document(device_emulator):
    """The hook in tests/openapi_contract.py is what holds every answer to the document: a body
    that breaks the declared schema is reported, one that keeps it is not."""
    from tests import openapi_contract

    response = requests.get(device_emulator.url + "/_emulator/clock")
    assert response.status_code == 200
    before = len(openapi_contract._violations)
    openapi_contract.check(response)
    assert len(openapi_contract._violations) == before
    response._content = b'{"now": "noon", "iso": "x", "offset_seconds": 0, "frozen": false, "extra": 1}'
    openapi_contract.check(response)
    found = openapi_contract._violations[before:]
    del openapi_contract._violations[before:]  # reported to this test, not to the run
    assert [v.split(" at ")[0] for v in found] == ["GET /_emulator/clock -> 200"] * 2
    assert any("'noon' is not of type 'number'" in v for v in found)
    assert any("'extra' was unexpected" in v for v in found)


def test_a_client_generator_takes_the_served_document_without_warnings(device_emulator, tmp_path):
    """openapi-python-client (a test dependency) generates a client from the document as served,
    printing no warning and dropping no schema or endpoint."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    doc = requests.get(device_emulator.url + "/_emulator/openapi.json").content
    (tmp_path / "openapi.json").write_bytes(doc)
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", "openapi.json", "--meta", "none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    problems = [line for line in output.splitlines()
                if "warning" in line.lower() or "unable to process" in line.lower() or "duplicate" in line.lower()]
    assert problems == [], output
    # the endpoints are all there: one module per operation
    generated = list((tmp_path / "device_api_emulator_client" / "api").rglob("*.py"))
    operations = sum(len(ops) for ops in requests.get(device_emulator.url + "/_emulator/openapi.json")
                     .json()["paths"].values())
    assert len([p for p in generated if p.name != "__init__.py"]) == operations


def test_the_readable_rendering_ships_everything_itself(device_emulator):
    """/_emulator/api: every operation of the document, its schemas and security, as one HTML page
    that loads nothing (no script, stylesheet, image or font from anywhere)."""
    from html import escape

    doc = requests.get(device_emulator.url + "/_emulator/openapi.json").json()
    resp = requests.get(device_emulator.url + "/_emulator/api")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    page = resp.text
    operations = [(method, path) for path, ops in doc["paths"].items() for method in ops]
    assert page.count("<details>") == len(operations)
    for method, path in operations:
        assert f"{method.upper()}</span> <code>{escape(path)}</code>" in page, (method, path)
    assert escape('"beams_user_token"') in page  # security is shown
    assert escape('"initialInterestSet"') in page  # a success schema is shown
    assert f"<code>{device_emulator.url}</code>" in page  # servers: where the page was read
    lowered = page.lower()
    for loads_something in ("<script", "<link", "<img", "<iframe", "src=", "@import", "url("):
        assert loads_something not in lowered, loads_something
    assert "href=openapi.json" in page
