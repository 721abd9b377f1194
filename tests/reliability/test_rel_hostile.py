"""Hostile input to EVERY vendor route of the OpenAPI document (iterated, so a new route is
covered without touching this file): invalid JSON, JSON of the wrong type, invalid UTF-8, a body
one byte over the vendor's cap, 10,000-deep nesting, 20 KB path segments, query values and header
values, and SQL metacharacters in every path parameter, query value and string field of a valid
body. Expected: never a 5xx, never a traceback or an HTML page, every error in the vendor's shape,
JSON-body routes refuse malformed bodies with a 4xx and oversized ones with 400/413, and a refused
request changes nothing (``GET /_emulator/state`` before and after).

``test_sql_metacharacters_are_stored_and_returned_verbatim`` checks the fields that are free text
read them back through the vendor API.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterator
from urllib.parse import quote

import jsonschema
import pytest
import requests

from tests.contract import Tenant
from tests.credentials import (APPLOVIN_KEY, BEAMS_INSTANCE, BEAMS_SECRET, CAPGO_APP, CAPGO_KEY, JPUSH_RID,
                               MOENGAGE_APP, jpush_auth, moengage_auth)
from tests.reliability.rel_helpers import VENDORS, beams_fcm_token, beams_jwt, openapi, shape_problem, state
from tests.reliability.rel_routes import Op, default_tenants, document_at_collection, fill, operations

DOC = document_at_collection()
OPS = operations(DOC)
LONG = "a" * 20_000
SQL = ["'; DROP TABLE x; --", '" OR 1=1 --', "Robert'); DELETE FROM sqlite_master;--", "%' OR '1'='1"]
DEPTH = 10_000


@dataclass
class Case:
    label: str
    expect: str = "any"  # any | refuse (a 4xx) | size (400 or 413)
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None
    path: dict[str, str] = field(default_factory=dict)  # path parameter overrides
    suffix: str = ""


def string_leaves(value: Any, at: tuple = ()) -> Iterator[tuple]:
    if isinstance(value, str):
        yield at
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from string_leaves(v, at + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from string_leaves(v, at + (i,))


def replaced(body: Any, at: tuple, new: str) -> Any:
    out = copy.deepcopy(body)
    target = out
    for key in at[:-1]:
        target = target[key]
    target[at[-1]] = new
    return out


def padded_json(size: int) -> bytes:
    """A well-formed JSON object of exactly ``size`` bytes."""
    head, tail = b'{"pad":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def hostile_cases(op: Op, t: Tenant) -> Iterator[Case]:
    headers, query = op.credentials(t)
    json_body, text_body = op.json_body(), op.text_body()
    body_expect = "refuse" if json_body else "any"
    ctype = {"Content-Type": "application/json"}
    # -- bodies -----------------------------------------------------------------------------
    for label, data in [("invalid JSON", b'{"a": '), ("JSON array", b"[]"), ("JSON string", b'"x"'),
                        ("JSON number", b"1"), ("JSON null", b"null"), ("invalid UTF-8", b'{"a":"\xff\xfe\xfd"}'),
                        ("deep arrays", b"[" * DEPTH + b"]" * DEPTH),
                        ("deep objects", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH)]:
        expect = "any" if label == "JSON array" and (op.method, op.path) in op.contract.array_body_routes \
            else body_expect
        yield Case(label, expect, {**headers, **ctype}, dict(query), data)
    cap = op.cap()
    if json_body:
        yield Case(f"body of {cap + 1} bytes (cap {cap})", "size", {**headers, **ctype}, dict(query), padded_json(cap + 1))
    elif text_body:
        yield Case(f"body of {cap + 1} bytes (cap {cap})", "size", headers, dict(query), b"M\n" * ((cap + 1) // 2) + b"M")
    else:
        yield Case(f"unexpected body of {cap + 1} bytes", "any", {**headers, **ctype}, dict(query), padded_json(cap + 1))
    valid = op.valid_body()
    valid_data = json.dumps(valid).encode() if valid is not None else (op.contract.text_body if text_body else None)
    # -- long path segments, query values, header values ---------------------------------------
    for name in op.path_names():
        yield Case(f"20 KB path parameter {name}", "any", headers, dict(query), valid_data, path={name: LONG})
    if not op.path_names():
        yield Case("20 KB extra path segment", "refuse", headers, dict(query), valid_data, suffix="/" + LONG)
    for name in [*op.query_names(), "hostile"]:
        yield Case(f"20 KB query value {name}", "any", headers, {**query, name: LONG}, valid_data)
    auth_header = next((h for h in headers if h.lower() in ("authorization",)), None)
    if auth_header is not None and not op.path.endswith("/user"):
        yield Case("20 KB Authorization", "refuse", {**headers, auth_header: "Basic " + LONG}, dict(query), valid_data)
    if "api_key" in query:
        yield Case("20 KB api_key", "refuse", headers, {**query, "api_key": LONG}, valid_data)
    yield Case("20 KB unknown header", "any", {**headers, "X-Hostile": LONG}, dict(query), valid_data)
    yield Case("20 KB Content-Type parameter", "any", {**headers, "Content-Type": "application/json; x=" + LONG},
               dict(query), valid_data)
    # -- SQL metacharacters -------------------------------------------------------------------
    for i, payload in enumerate(SQL[:2]):
        for name in op.path_names():
            yield Case(f"SQL in path parameter {name} #{i}", "any", headers, dict(query), valid_data,
                       path={name: payload})
        for name in op.query_names():
            if name != "api_key" or i == 0:
                yield Case(f"SQL in query {name} #{i}", "any", headers, {**query, name: payload}, valid_data)
    if valid is not None:
        yield Case("the valid body", "any", {**headers, **ctype}, dict(query), valid_data)
        for at in string_leaves(valid):
            for i, payload in enumerate(SQL):
                body = replaced(valid, at, payload)
                yield Case(f"SQL in body field {'.'.join(map(str, at))} #{i}", "any", {**headers, **ctype},
                           dict(query), json.dumps(body).encode())
    if text_body:
        yield Case("SQL device lines", "any", headers, dict(query), "\n".join(SQL).encode())


@pytest.fixture(scope="module")
def served(device_emulator_server) -> dict[str, Any]:
    return openapi(device_emulator_server.url)


def test_served_document_has_the_routes_parametrized_here(served):
    assert [op.id for op in operations(served)] == [op.id for op in OPS]


def send(url: str, op: Op, t: Tenant, case: Case) -> requests.Response:
    values = {**op.path_values(t), **case.path}
    target = url + fill(op.path, {k: quote(v, safe="") for k, v in values.items()}) + case.suffix
    return requests.request(op.method, target, params=case.query, headers=case.headers, data=case.data,
                            timeout=60, allow_redirects=False)


def tenant_for(op: Op, url: str) -> Tenant:
    """The default tenant's credentials, prepared by the vendor's contract (e.g. a registered Beams device)."""
    return default_tenants(url, [op.vendor])[op.vendor]


def run_hostile(op: Op, url: str, served: dict[str, Any], label: str = "") -> int:
    """Every hostile case of ``op`` against the server at ``url``; fails listing the problems.
    Returns the number of requests sent (the sixth-vendor test reuses this loop)."""
    t = tenant_for(op, url)
    before = state(url)
    problems: list[str] = []
    n = 0
    for case in hostile_cases(op, t):
        n += 1
        resp = send(url, op, t, case)
        status = resp.status_code
        where = f"{op.id}{label} [{case.label}] -> {status} {resp.content[:160]!r}"
        if status >= 400 or b"Traceback" in resp.content:
            problem = shape_problem(served, op.vendor, status, resp.content, resp.headers)
            if problem is not None:
                problems.append(f"{where}: {problem}")
        if case.expect == "refuse" and not 400 <= status < 500:
            problems.append(f"{where}: expected a 4xx refusal")
        if case.expect == "size" and status not in (400, 413):
            problems.append(f"{where}: expected the vendor's 400/413 for an oversized body")
        after = state(url)
        if status >= 400 and after != before:
            problems.append(f"{where}: a refused request changed the state")
        before = after
    assert problems == [], f"{len(problems)} problems in {n} hostile requests:\n" + "\n".join(problems[:20])
    return n


@pytest.mark.parametrize("op", OPS, ids=[op.id for op in OPS])
def test_hostile_inputs_to_every_route(op, device_emulator, served):
    assert run_hostile(op, device_emulator.url, served) >= MIN_CASES


#: (route, option set) for every option set a vendor's contract names as a second implementation
#: (e.g. Capgo's live profile: cursor pages, other errors)
OPTION_OPS = [(op, options) for op in OPS for options in op.contract.extra_options]


@pytest.mark.parametrize("op,options", OPTION_OPS, ids=[f"{op.id} {options}" for op, options in OPTION_OPS])
def test_hostile_inputs_under_the_vendors_other_options(op, options, device_emulator, served):
    device_emulator.set_options(options)
    assert run_hostile(op, device_emulator.url, served, f" ({options})") >= MIN_CASES


#: every route gets at least: 8 malformed bodies, an oversized one, a 20 KB header, Content-Type and
#: query value, and a long path segment or parameter
MIN_CASES = 13


def test_hostile_inputs_cover_every_registered_vendor_and_route():
    """Every vendor of the registry has routes here, and every route gets the malformed and
    oversized bodies (refused when the route reads JSON) and the long values."""
    assert sorted({op.vendor for op in OPS}) == sorted(VENDORS)
    for op in OPS:
        cases = list(hostile_cases(op, dict(op.contract.default)))
        labels = [c.label for c in cases]
        assert len(cases) >= MIN_CASES, (op.id, labels)
        assert sum("bytes" in label for label in labels) == 1, (op.id, labels)
        assert any(label.startswith(("20 KB path parameter", "20 KB extra path segment")) for label in labels)
        if op.json_body():
            # every malformed body is refused, but an array where the route takes a batch of them
            expected = ["any" if label == "JSON array" and (op.method, op.path) in op.contract.array_body_routes
                        else "refuse" for label in labels[:8]]
            assert [c.expect for c in cases[:8]] == expected and cases[8].expect == "size", (op.id, labels)


# -- verbatim storage of free-text fields --------------------------------------------------------

@pytest.mark.parametrize("payload", SQL)
def test_sql_metacharacters_are_stored_and_returned_verbatim(device_emulator, payload):
    url = device_emulator.url
    # AppLovin: description (free text) and a device model line (<= 64 characters)
    created = requests.get(f"{url}/devices/create", timeout=30,
                           params={"api_key": APPLOVIN_KEY, "name": "Verbatim", "description": payload})
    assert created.status_code == 200, created.text
    list_id = created.json()["device_list_id"]
    appended = requests.post(f"{url}/devices/append", params={"api_key": APPLOVIN_KEY, "device_list_id": list_id},
                             data=payload.encode(), timeout=30)
    assert appended.json()["processed_devices"] == 1, appended.text
    lists = requests.get(f"{url}/devices/list", params={"api_key": APPLOVIN_KEY}, timeout=30).json()["device_lists"]
    assert next(x for x in lists if x["device_list_id"] == list_id)["description"] == payload
    one = requests.get(f"{url}/devices/list", params={"api_key": APPLOVIN_KEY, "device_list_id": list_id}, timeout=30)
    assert one.json()["devices"] == [{"device": payload}]
    # Beams: metadata strings and the user id (JWT sub) come back from GET device
    base = f"{url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm"
    r = requests.post(base, json={"token": beams_fcm_token("verbatim"), "metadata": {"sdkVersion": payload}}, timeout=30)
    assert r.status_code == 200, r.text
    device_id = r.json()["id"]
    r = requests.put(f"{base}/{device_id}/user", headers={"Authorization": f"Bearer {beams_jwt(payload)}"}, timeout=30)
    assert r.status_code == 200, r.text
    got = requests.get(f"{base}/{device_id}", timeout=30).json()
    assert got["metadata"]["sdkVersion"] == payload and got["userId"] == payload, got
    # MoEngage: a customer id and attribute are stored verbatim (the Data API has no read route)
    r = requests.post(f"{url}/v1/customer/{MOENGAGE_APP}", headers={**moengage_auth(), "Content-Type": "application/json"},
                      json={"type": "customer", "customer_id": payload, "attributes": {"note": payload}}, timeout=30)
    assert r.status_code == 200, r.text
    customers = device_emulator.state("moengage")["workspaces"][0]["customers"]
    assert {"customer_id": payload, "attributes": {"note": payload}} in customers, customers
    # Capgo: custom_id from a check-in comes back from GET /device (<= 36 characters)
    device = "44f128a5-ac7a-4c9a-be4c-224b6bf81b20"
    r = requests.post(f"{url}/stats", timeout=30, json={
        "app_id": CAPGO_APP, "device_id": device, "platform": "android", "version_name": "1.0.0", "version_os": "14",
        "is_emulator": False, "is_prod": True, "action": "ping", "custom_id": payload[:36]})
    assert r.status_code == 200, r.text
    r = requests.get(f"{url}/device", params={"app_id": CAPGO_APP, "device_id": device},
                     headers={"authorization": CAPGO_KEY}, timeout=30)
    assert r.status_code == 200 and r.json()["custom_id"] == payload[:36], r.text
    # JPush: tags, aliases and mobiles have a strict alphabet: refused (400/7002), nothing stored,
    # and the tables are intact afterwards
    before = device_emulator.state("jpush")
    r = requests.post(f"{url}/v3/devices/{JPUSH_RID}", json={"tags": {"add": [payload]}, "alias": payload},
                      headers=jpush_auth(), timeout=30)
    assert r.status_code == 400 and r.json()["error"]["code"] == 7002, r.text
    assert device_emulator.state("jpush") == before
    r = requests.get(f"{url}/v3/aliases/{quote(payload, safe='')}", headers=jpush_auth(), timeout=30)
    assert r.status_code == 200, r.text


# -- the control plane's own JSON bodies -----------------------------------------------------------

CONTROL_BODY_ROUTES = [("PUT", "/_emulator/state"), ("POST", "/_emulator/fixtures"), ("PATCH", "/_emulator/options"),
                       ("POST", "/_emulator/clock"), ("POST", "/_emulator/faults"), ("POST", "/_emulator/faults/seed")]
CONTROL_HOSTILE = [("invalid JSON", b'{"a": '), ("JSON array", b"[1]"), ("JSON string", b'"x"'), ("JSON number", b"1"),
                   ("JSON null", b"null"), ("invalid UTF-8", b'{"a":"\xff\xfe"}'),
                   ("deep arrays", b"[" * DEPTH + b"]" * DEPTH), ("deep objects", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH),
                   ("SQL keys", json.dumps({SQL[0]: {SQL[1]: SQL[2]}}).encode())]


@pytest.mark.parametrize("method,path", CONTROL_BODY_ROUTES, ids=[f"{m} {p}" for m, p in CONTROL_BODY_ROUTES])
def test_control_plane_refuses_hostile_bodies_and_changes_nothing(method, path, device_emulator, served):
    assert method.lower() in served["paths"][path]
    url = device_emulator.url
    snapshot = lambda: (state(url), requests.get(f"{url}/_emulator/options", timeout=30).json(),
                        requests.get(f"{url}/_emulator/faults", timeout=30).json())
    before = snapshot()
    for label, data in CONTROL_HOSTILE:
        r = requests.request(method, url + path, data=data, headers={"Content-Type": "application/json"}, timeout=60)
        assert r.status_code == 400, (label, r.status_code, r.text[:200])
        jsonschema.validate(r.json(), served["components"]["schemas"]["ControlPlaneError"])
        assert snapshot() == before, f"{method} {path} [{label}] changed something"


# -- JSON the parser itself trips over ------------------------------------------------------------

# Finding F4 (fixed in 2deefaa), was: httputil.parse_json catches JSONDecodeError and RecursionError only; an
#   integer literal of more than 4300 digits makes json.loads raise a plain ValueError (int max str digits),
#   answered as a 500 by every vendor and the control plane
JSON_EDGES = [
    pytest.param("huge integer", b'{"n": ' + b"1" * 5000 + b"}"),
    pytest.param("lone surrogate", b'{"s": "\\ud800"}'),
    pytest.param("NaN", b'{"n": NaN}'),
    pytest.param("1e999", b'{"n": 1e999}'),
    pytest.param("UTF-8 BOM", b'\xef\xbb\xbf{"a": 1}'),
    pytest.param("UTF-16", '{"a": 1}'.encode("utf-16")),
]


def json_edge_problems(url: str, served: dict[str, Any], ops: list[Op], tenants: dict[str, Tenant], label: str,
                       data: bytes) -> list[str]:
    """One JSON edge case sent to every JSON-body route of ``ops`` (``tenants``: prepared default
    tenants per vendor): what was not a 4xx in the vendor's shape."""
    problems = []
    for op in ops:
        if not op.json_body():
            continue
        t = tenants[op.vendor]
        headers, query = op.credentials(t)
        resp = send(url, op, t, Case(label, headers={**headers, "Content-Type": "application/json"},
                                     query=dict(query), data=data))
        where = f"{op.id} [{label}] -> {resp.status_code} {resp.content[:160]!r}"
        if not 400 <= resp.status_code < 500:
            problems.append(f"{where}: expected a 4xx")
        problem = shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers)
        if problem:
            problems.append(f"{where}: {problem}")
    return problems


@pytest.mark.parametrize("label,data", JSON_EDGES, ids=[p.values[0] for p in JSON_EDGES])
def test_json_edge_cases_are_refused_in_the_vendor_shape(label, data, device_emulator, served):
    """Every JSON-body route of the document and the control plane's: a 4xx in the right shape,
    nothing changed."""
    url = device_emulator.url
    tenants = default_tenants(url, VENDORS)
    before = state(url)
    problems = json_edge_problems(url, served, OPS, tenants, label, data)
    for method, path in CONTROL_BODY_ROUTES:
        r = requests.request(method, url + path, data=data, headers={"Content-Type": "application/json"}, timeout=30)
        if r.status_code != 400:
            problems.append(f"{method} {path} [{label}] -> {r.status_code} {r.content[:160]!r}: expected 400")
    assert state(url) == before
    assert problems == [], "\n".join(problems[:20])


# -- numbers Python's int() refuses: more than 4300 digits -------------------------------------------

HUGE = "9" * 5000
NUMERIC_QUERY = ("limit", "page", "cursor", "offset", "timestampSecs")
# Finding F5 (fixed in 2deefaa), was: page_limit() checks isdigit() then calls int(raw); a 5000-digit ?limit=
#   raises ValueError (int max str digits) -> 500 'Something went wrong' instead of 400 '`limit` given is not
#   valid.'
# Finding F6 (fixed in 2deefaa), was: GET /device?page=<5000 digits> (documented profile) and ?limit=<5000
#   digits> (live profile) call int() after isdigit() -> ValueError -> 500 instead of 400 Invalid page /
#   invalid_limit
@pytest.mark.parametrize("op", [pytest.param(op, id=op.id) for op in OPS])
def test_huge_integers_in_query_parameters(op, device_emulator, served):
    """Every declared query parameter and the usual numeric ones, set to a 5000-digit number."""
    url = device_emulator.url
    t = tenant_for(op, url)
    headers, query = op.credentials(t)
    valid = op.valid_body()
    data = json.dumps(valid).encode() if valid is not None else None
    problems = []
    for profile in [None, *op.contract.extra_options]:
        if profile:
            device_emulator.set_options(profile)
        for name in dict.fromkeys([*op.query_names(), *NUMERIC_QUERY]):
            if name == "api_key":
                continue
            resp = send(url, op, t, Case(f"{name}={HUGE[:6]}…", headers=headers, query={**query, name: HUGE}, data=data))
            if resp.status_code >= 400:
                problem = shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers)
                if problem:
                    problems.append(f"{op.id} ?{name}=<5000 digits> ({profile or 'default'}) -> "
                                    f"{resp.status_code} {resp.content[:120]!r}: {problem}")
    assert problems == [], "\n".join(problems)


# Finding F7 (fixed in 2deefaa), was: POST /_emulator/clock {"advance": 1e308} (or {"set": 1e300}) is accepted
#   into the clock and answered 500; from then on every vendor request fails with aiohttp's plain '500
#   Internal Server Error' (the middleware's journal entry calls clock.iso() -> OverflowError), POST
#   /_emulator/reset and GET /_emulator/clock answer 500 too; only POST /_emulator/clock {"reset": true}
#   recovers


@pytest.mark.parametrize("move", [{"advance": 1e308}, {"set": 1e300}, {"advance": -1e308}], ids=["advance", "set", "back"])
def test_clock_refuses_moves_out_of_range(move, device_emulator):
    url = device_emulator.url
    r = requests.post(f"{url}/_emulator/clock", json=move, timeout=30)
    try:
        assert r.status_code == 400, r.text
        after = requests.get(f"{url}/devices/list", params={"api_key": APPLOVIN_KEY}, timeout=30)
        assert after.status_code == 200, after.text
    finally:  # only a clock reset recovers from F7; then the usual reset
        requests.post(f"{url}/_emulator/clock", json={"reset": True}, timeout=30).raise_for_status()
        device_emulator.reset()


# -- methods a route does not serve ------------------------------------------------------------------

OTHER_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND"]


def unserved_method_problems(url: str, served: dict[str, Any], ops: list[Op]) -> tuple[list[str], int, int]:
    """Each path of ``ops`` with every standard method it does not serve: (problems, requests, paths)."""
    tenants = default_tenants(url, dict.fromkeys(op.vendor for op in ops))
    problems, sent = [], 0
    seen: set[str] = set()
    with requests.Session() as s:
        for op in ops:
            if op.path in seen:
                continue
            seen.add(op.path)
            t = tenants[op.vendor]
            headers, query = op.credentials(t)
            target = url + fill(op.path, op.path_values(t))
            for method in OTHER_METHODS:
                if method.lower() in served["paths"][op.path]:
                    continue
                sent += 1
                r = s.request(method, target, headers=headers, params=query, timeout=30)
                if r.status_code >= 500 or (method != "HEAD" and r.status_code >= 400 and
                                            shape_problem(served, op.vendor, r.status_code, r.content, r.headers)):
                    problems.append(f"{method} {op.path} -> {r.status_code} {r.content[:120]!r}")
    return problems, sent, len(seen)


def test_every_path_answers_unserved_methods_in_the_vendor_shape(device_emulator, served):
    """Each vendor path of the document with every standard method it does not serve (an unknown
    token such as ``FOO`` is refused by aiohttp's parser, see finding F2)."""
    problems, sent, paths = unserved_method_problems(device_emulator.url, served, OPS)
    assert paths == len({op.path for op in OPS}) and sent >= paths, (sent, paths)
    assert problems == [], "\n".join(problems[:20])


# -- hostile Beams user tokens (JWTs parsed and checked by the emulator itself) ------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: bytes, payload: bytes) -> str:
    signing = f"{_b64(header)}.{_b64(payload)}".encode()
    signature = hmac.new(BEAMS_SECRET.encode(), signing, hashlib.sha256).digest()
    return f"{signing.decode()}.{_b64(signature)}"


_ISS = f"https://{BEAMS_INSTANCE}.pushnotifications.pusher.com".encode()
_HS256 = b'{"alg":"HS256","typ":"JWT"}'
# Finding F10 (fixed in 7b7ca79), was: a validly signed JWT whose header or payload JSON nests 5,000
#   deep raises RecursionError in the emulator's JWT check -> 500 Something went wrong instead of 401
#   '`Authorization` header token is malformed.'
# Finding F11 (fixed in 7b7ca79), was: a validly signed JWT whose sub holds a lone surrogate escape
#   ("\ud800") passes the checks and reaches SQLite: UnicodeEncodeError in storage.set_user -> 500
#   instead of a 4xx
# Finding F12 (fixed in 7b7ca79), was: a validly signed JWT with "exp": -1e400 or -Infinity (Python's
#   json reads -inf) is expired, and formatting how long ago calls int(-inf) -> OverflowError -> 500
#   instead of 401 token is expired
HOSTILE_JWTS = [
    pytest.param(_signed(b'{"alg":"HS256","x":' + b"[" * 5000 + b"]" * 5000 + b"}",
                         b'{"sub":"a","iss":"%s","exp":9999999999}' % _ISS), id="deep header"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":9999999999,"x":' % _ISS + b"[" * 5000 + b"]" * 5000 + b"}"), id="deep payload"),
    pytest.param(_signed(_HS256, b'{"sub":"\\ud800","iss":"%s","exp":9999999999}' % _ISS), id="lone surrogate sub"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":%s}' % (_ISS, b"9" * 5000)), id="5000-digit exp"),
    pytest.param(_signed(b"[1]", b"{}"), id="header array"),
    pytest.param(_signed(_HS256, b"[1]"), id="payload array"),
    pytest.param(_signed(_HS256, b'{"sub":"\xff"}'), id="payload not UTF-8"),
    pytest.param(_b64(b'{"alg":"none"}') + "." + _b64(b'{"sub":"a"}') + ".", id="alg none"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":-1e300}' % _ISS), id="exp -1e300"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":-1e400}' % _ISS), id="exp -1e400"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":-Infinity}' % _ISS), id="exp -Infinity"),
    # Go's decoder refuses these; Python's would read a token that never expires
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":NaN}' % _ISS), id="exp NaN"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":Infinity}' % _ISS), id="exp Infinity"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":1e400}' % _ISS), id="exp 1e400"),
    pytest.param(_signed(_HS256, b'{"sub":"a","iss":"%s","exp":9999999999,"nbf":1e300}' % _ISS), id="nbf 1e300"),
    pytest.param("a." * 5000 + "a", id="5001 segments"),
    pytest.param("x" * 20_000, id="20 KB garbage"),
]


@pytest.mark.parametrize("token", HOSTILE_JWTS)
def test_hostile_beams_user_tokens_are_refused_in_the_beams_shape(token, device_emulator, served):
    base = f"{device_emulator.url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/fcm"
    device_id = requests.post(base, json={"token": beams_fcm_token("jwt-hostile")}, timeout=30).json()["id"]
    before = state(device_emulator.url)
    r = requests.put(f"{base}/{device_id}/user", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert shape_problem(served, "beams", r.status_code, r.content, r.headers) is None
    assert state(device_emulator.url) == before


def test_deeply_nested_beams_web_push_token_is_refused(device_emulator, served):
    """The web SDK's token is base64 of the PushSubscription JSON, which the emulator decodes."""
    token = base64.b64encode(b'{"endpoint":' + b"[" * 5000 + b"]" * 5000 + b"}").decode()
    before = state(device_emulator.url)
    r = requests.post(f"{device_emulator.url}/device_api/v1/instances/{BEAMS_INSTANCE}/devices/web",
                      json={"token": token}, timeout=30)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert shape_problem(served, "beams", r.status_code, r.content, r.headers) is None
    assert state(device_emulator.url) == before


# -- numeric-looking strings of 5,000 digits in every string field of a valid body --------------------

# Finding F13 (fixed in 7b7ca79), was: coerce_semver() calls int() on each version part; POST /updates
#   or /stats with version_build (or another version field) of 5,000 digits -> ValueError -> 500 Unknown
#   error
DIGIT_STRINGS = ["9" * 5000, "1." + "9" * 5000 + ".0", "-" + "9" * 5000]
@pytest.mark.parametrize("op", [pytest.param(op, id=op.id) for op in OPS if op.valid_body() is not None])
def test_digit_strings_in_every_body_field(op, device_emulator, served):
    url = device_emulator.url
    t = tenant_for(op, url)
    headers, query = op.credentials(t)
    valid = op.valid_body()
    before = state(url)
    problems = []
    for at in string_leaves(valid):
        for digits in DIGIT_STRINGS:
            body = json.dumps(replaced(valid, at, digits)).encode()
            resp = send(url, op, t, Case("digits", headers={**headers, "Content-Type": "application/json"},
                                         query=dict(query), data=body))
            where = f"{op.id} {'.'.join(map(str, at))}={digits[:4]}… -> {resp.status_code} {resp.content[:120]!r}"
            if resp.status_code >= 400:
                problem = shape_problem(served, op.vendor, resp.status_code, resp.content, resp.headers)
                if problem:
                    problems.append(f"{where}: {problem}")
                if state(url) != before:
                    problems.append(f"{where}: a refused request changed the state")
            before = state(url)
    assert problems == [], "\n".join(problems[:20])


# -- integers wider than 64 bits are JSON too (orjson, SQLite and Go stop at 64 bits) -------------------

WIDE_INTS = [2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**300)]


@pytest.mark.parametrize("number", WIDE_INTS, ids=[str(n)[:12] for n in WIDE_INTS])
def test_wide_integers_are_stored_and_exported_verbatim(number, device_emulator):
    """Free-form JSON values (MoEngage attributes, Beams publish payloads) keep their exact value
    through the write, the state export and a fixture round trip."""
    url = device_emulator.url
    moe = {**moengage_auth(), "Content-Type": "application/json"}
    r = requests.post(f"{url}/v1/customer/{MOENGAGE_APP}", headers=moe, timeout=30,
                      data='{"type":"customer","customer_id":"wide","attributes":{"n":%d}}' % number)
    assert r.status_code == 200, r.text
    r = requests.post(f"{url}/publish_api/v1/instances/{BEAMS_INSTANCE}/publishes/interests", timeout=30,
                      headers={"Content-Type": "application/json", "Authorization": f"Bearer {BEAMS_SECRET}"},
                      data='{"interests":["news"],"fcm":{"data":{"n":%d}}}' % number)
    assert r.status_code == 200, r.text
    raw = requests.get(f"{url}/_emulator/state", timeout=30)
    assert raw.status_code == 200
    doc = json.loads(raw.content)
    customer = next(c for c in doc["moengage"]["workspaces"][0]["customers"] if c["customer_id"] == "wide")
    assert customer["attributes"]["n"] == number
    publish = next(i for i in doc["beams"]["instances"] if i["instance_id"] == BEAMS_INSTANCE)["publishes"][-1]
    assert publish["request"]["fcm"]["data"]["n"] == number
    r = requests.put(f"{url}/_emulator/state", data=raw.content, headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    assert json.loads(requests.get(f"{url}/_emulator/state", timeout=30).content) == doc
