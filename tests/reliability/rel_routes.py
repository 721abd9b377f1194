"""Valid requests for every vendor route of the OpenAPI document, built generically from the
document (path parameters) and each vendor's test contract (``tests/<vendor>/contract.py``:
credentials, valid bodies, body caps); the hostile-input and isolation tests derive their requests
from these. The vendors are those of ``emulator.vendors.REGISTRY`` (or a registry given)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable

from emulator.app import build_context, create_app
from emulator.config import Config
from emulator.openapi import build_openapi
from tests.contract import Contract, Tenant, contract_for, match_first

KIB = 1024


@dataclass
class Op:
    vendor: str
    method: str
    path: str  # template, as in the document
    params: list[dict[str, Any]] = field(default_factory=list)
    request_body: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def contract(self) -> Contract:
        return contract_for(self.vendor)

    def query_names(self) -> list[str]:
        return [p["name"] for p in self.params if p["in"] == "query"]

    def path_names(self) -> list[str]:
        return re.findall(r"\{([^}]+)\}", self.path)

    def json_body(self) -> bool:
        """Does the route read a JSON document?"""
        routes = self.contract.json_body_routes
        if routes is not None:
            return any(m == self.method and re.search(p, self.path) for m, p in routes)
        content = (self.request_body or {}).get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        return bool(content) and schema.get("type") != "string"

    def text_body(self) -> bool:
        """A body that is a plain string (AppLovin's newline-separated device lists)."""
        content = (self.request_body or {}).get("content", {})
        return content.get("application/json", {}).get("schema", {}).get("type") == "string" \
            and self.method == "POST"

    def cap(self) -> int:
        cap = match_first(self.contract.caps, self.method, self.path, regex_method=True)
        assert cap is not None, f"{self.vendor} contract: no body cap for {self.id}"
        return int(cap)

    def valid_body(self) -> Any:
        return match_first(self.contract.valid_bodies, self.method, self.path, regex_method=False)

    def credentials(self, t: Tenant) -> tuple[dict[str, str], dict[str, str]]:
        return self.contract.credentials(self, t)

    def path_values(self, t: Tenant) -> dict[str, str]:
        return self.contract.path_values(self, t)


def operations(doc: dict[str, Any]) -> list[Op]:
    """Every vendor operation of an OpenAPI document, in document order."""
    ops = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            vendor = op["tags"][0]
            if vendor == "control plane":
                continue
            ops.append(Op(vendor, method.upper(), path, op.get("parameters", []), op.get("requestBody")))
    return ops


def document_at_collection(vendor_classes: Iterable[Any] | None = None) -> dict[str, Any]:
    """The document the server will serve, built in process to parametrize tests by route
    (the tests compare it with the served one)."""
    ctx = build_context(Config(db=":memory:", fixtures=[]), None if vendor_classes is None else list(vendor_classes))
    create_app(context=ctx)
    doc = build_openapi(ctx)
    ctx.store.close()
    return doc


def fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def default_tenants(url: str, vendors: Iterable[str]) -> dict[str, Tenant]:
    """Each vendor's default tenant, prepared on the server at ``url`` (e.g. a Beams device registered)."""
    out = {}
    for vendor in vendors:
        c = contract_for(vendor)
        out[vendor] = c.prepare(url, dict(c.default))
    return out


def fault_problems(url: str, served: dict[str, Any], contract: Contract) -> list[str]:
    """Injected 429/500/503 faults on the vendor's probe request are answered with that status in
    the vendor's error shape, once (``times: 1``); then the probe is answered normally again."""
    import requests

    from tests.reliability.rel_helpers import shape_problem

    method, path, headers, body = contract.probe
    problems = []
    for status in (429, 500, 503):
        r = requests.post(f"{url}/_emulator/faults", json={"vendor": contract.vendor, "status": status, "times": 1},
                          timeout=30)
        assert r.status_code in (200, 201), r.text
        faulted = requests.request(method, url + path, headers=headers, json=body, timeout=30)
        normal = requests.request(method, url + path, headers=headers, json=body, timeout=30)
        where = f"{contract.vendor} {method} {path} with a {status} fault -> {faulted.status_code} {faulted.content[:160]!r}"
        if faulted.status_code != status:
            problems.append(f"{where}: expected {status}")
        # a 5xx is what was asked for: check its body as a refusal's
        elif (problem := shape_problem(served, contract.vendor, 400, faulted.content, faulted.headers)) is not None:
            problems.append(f"{where}: {problem}")
        if normal.status_code != contract.probe_status:
            problems.append(f"{contract.vendor} {method} {path} after the fault -> {normal.status_code} "
                            f"{normal.content[:160]!r}: expected {contract.probe_status}")
    return problems


def reset_problems(url: str, contract: Contract) -> list[str]:
    """The contract's chaos writes change the vendor's state; ``POST /_emulator/reset?vendor=``
    brings it back exactly and leaves the other vendors alone."""
    import requests

    from tests.reliability.rel_helpers import state

    initial = state(url)
    with requests.Session() as s:
        for n in range(3):
            for method, target, kw in contract.chaos_calls(url, n):
                r = s.request(method, target, timeout=30, **kw)
                assert r.status_code < 400, f"{method} {target} -> {r.status_code} {r.text[:200]}"
    changed = state(url)
    problems = []
    if changed[contract.vendor] == initial[contract.vendor]:
        problems.append(f"{contract.vendor}: the chaos calls changed nothing (they must write)")
    others = {v: doc for v, doc in changed.items() if v != contract.vendor}
    requests.post(f"{url}/_emulator/reset", params={"vendor": contract.vendor}, timeout=30).raise_for_status()
    after = state(url)
    if after[contract.vendor] != initial[contract.vendor]:
        problems.append(f"{contract.vendor}: reset did not restore the start-up state")
    if {v: doc for v, doc in after.items() if v != contract.vendor} != others:
        problems.append(f"{contract.vendor}: its reset changed another vendor")
    return problems
