"""The OpenAPI document as a contract: every response the test suite receives from a vendor route
or a control-plane route (through ``requests``, the tests' HTTP client) is validated against the
document the emulator that answered serves at ``/_emulator/openapi.json``. A success body must
match the route's declared success response (its content type and schema; a body where the
document declares none is counted as undeclared and listed); a JSON error body must match the API's error schema. A test during which any
answer broke the document fails, naming the request and the violation. An empty 2xx body is not
checked (JPush's option success_body=empty answers one where the document shows ``{}``).

Loaded by tests/conftest.py as a pytest plugin.
"""
from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import requests


@dataclass
class Operation:
    vendor: str
    method: str
    template: str
    regex: re.Pattern[str]
    responses: dict[str, Any]


@dataclass
class Contract:
    doc: dict[str, Any]
    operations: list[Operation] = field(default_factory=list)

    def find(self, method: str, path: str) -> Operation | None:
        for op in self.operations:
            if op.method == method and op.regex.fullmatch(path):
                return op
        return None


_contracts: dict[str, Contract | None] = {}
_violations: list[str] = []
#: (vendor, method, template) answered 2xx without a declared success schema
undeclared: set[tuple[str, str, str]] = set()
checked = {"success": 0, "error": 0}


def _contract(origin: str) -> Contract | None:
    """The document served at ``origin`` (None when it is not an emulator)."""
    if origin not in _contracts:
        try:
            with urllib.request.urlopen(origin + "/_emulator/openapi.json", timeout=10) as resp:
                doc = json.load(resp)
        except Exception:  # another server (a fake, a baseline): nothing to hold it to
            _contracts[origin] = None
            return None
        contract = Contract(doc)
        for template, ops in doc["paths"].items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template.rstrip("/")))
            regex = re.compile(pattern + "/?")
            for method, op in ops.items():
                contract.operations.append(Operation(op["tags"][0], method.upper(), template, regex, op["responses"]))
        # most specific first: literal segments beat parameters
        contract.operations.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
        _contracts[origin] = contract
    return _contracts[origin]


def _declared(op: Operation, status: int) -> dict[str, Any] | None:
    declared = op.responses.get(str(status)) or op.responses.get(f"{str(status)[0]}XX")
    if declared is None and status >= 400:
        declared = op.responses.get("default")
    return declared


def _schema_for(declared: dict[str, Any], content_type: str) -> dict[str, Any] | None:
    for ctype, media in declared.get("content", {}).items():
        if ctype.split(";")[0] == content_type:
            return media.get("schema")
    return None


def _content_type(response: Any) -> str:
    """The media type of a ``requests`` response or of a schemathesis one (headers as lists)."""
    value = response.headers.get("Content-Type") or response.headers.get("content-type") or ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.split(";")[0].strip()


def check(response: Any) -> None:
    """Validate one answer; record what breaks the document."""
    url = urlsplit(response.request.url or "")
    origin = f"{url.scheme}://{url.netloc}"
    contract = _contract(origin)
    if contract is None:
        return
    op = contract.find(response.request.method or "GET", url.path)
    if op is None:
        return
    content_type = _content_type(response)
    status = response.status_code
    declared = _declared(op, status)
    is_success = 200 <= status < 300
    if is_success and not response.content:
        return  # no body: nothing to hold to a schema
    if is_success and (declared is None or not declared.get("content")):
        # a body the document does not describe: counted, and listed at the end of the run
        undeclared.add((op.vendor, op.method, op.template))
        return
    if declared is None:
        return
    schema = _schema_for(declared, content_type)
    if schema is None:
        if is_success:
            _violations.append(f"{op.method} {url.path} -> {status}: Content-Type {content_type!r} is not "
                               f"one the document declares ({', '.join(declared['content'])})")
        return
    if content_type != "application/json" and schema.get("type") == "string":
        return  # a text body (HTML, plain text): its type is all there is to check
    try:
        body = json.loads(response.content)
    except ValueError:
        _violations.append(f"{op.method} {url.path} -> {response.status_code}: body is not JSON")
        return
    root = {"allOf": [schema], "components": contract.doc["components"]}
    errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(body), key=lambda e: list(e.path))
    checked["success" if response.status_code < 400 else "error"] += 1
    for error in errors[:3]:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        _violations.append(f"{op.method} {url.path} -> {response.status_code} at {where}: {error.message[:300]}")


_send = requests.Session.send


def _checked_send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
    response = _send(self, request, **kwargs)
    if not kwargs.get("stream"):
        check(response)
    return response


requests.Session.send = _checked_send  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _openapi_contract():
    """Fail the test whose answers broke the OpenAPI document."""
    start = len(_violations)
    yield
    broken = _violations[start:]
    if broken:
        pytest.fail("answers that break the served OpenAPI document:\n" + "\n".join(broken[:20]), pytrace=False)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if checked["success"] or checked["error"]:
        terminalreporter.write_line(
            f"OpenAPI contract: {checked['success']} success and {checked['error']} error answers validated, "
            f"{len(_violations)} violations; {len(undeclared)} routes answered 2xx without a declared schema")
        for vendor, method, template in sorted(undeclared):
            terminalreporter.write_line(f"  undeclared: {vendor} {method} {template}")
