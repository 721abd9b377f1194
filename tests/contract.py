"""What the cross-vendor tests need to know about one vendor: its test contract.

Every vendor of ``emulator.vendors.REGISTRY`` has a ``tests/<name>/contract.py`` whose ``CONTRACT``
is an instance of a :class:`Contract` subclass. The cross-vendor tests (tests/reliability: hostile
inputs, isolation, fuzzing, chaos, faults) iterate over the registry and ask each contract for
valid requests, body caps, tenants and credentials; a registered vendor without a contract fails
those tests loudly (:func:`contract_for` raises), it is never skipped.

A tenant is a plain ``dict[str, str]`` of the values a contract needs (keys, ids, secrets); each
contract names its own keys. ``default`` is the tenant of the shipped fixtures
(``tests/credentials.py``), ``a``/``b`` the two tenants of the isolation tests (B is loaded by
``second_fixture``), ``unknown`` credentials nobody holds.
"""
from __future__ import annotations

import importlib
import json
import re
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterable

import requests

if TYPE_CHECKING:  # pragma: no cover
    from tests.reliability.rel_routes import Op

Tenant = dict[str, str]
#: (label, path, headers, query, body) of one cross-tenant request
Attempt = tuple[str, str, dict[str, str], dict[str, str], bytes | None]
#: (method, url, requests keyword arguments) of one request
Call = tuple[str, str, dict[str, Any]]


class Contract:
    vendor: str
    #: the body cap per route: (method regex, path regex, bytes); the first match wins
    caps: list[tuple[str, str, int]]
    #: a valid JSON body per route: (method, path template regex, body); the first match wins
    valid_bodies: list[tuple[str, str, Any]] = []
    #: the routes whose body is a JSON document, when the OpenAPI document does not say; None: it does
    json_body_routes: list[tuple[str, str]] | None = None
    #: (method, path) whose body may be a JSON array (an empty one is a valid empty batch)
    array_body_routes: frozenset[tuple[str, str]] = frozenset()
    #: a valid text body (routes whose body is a plain string in the document)
    text_body: bytes = b"MODEL-1\n"
    #: the text body of a cross-tenant request
    b_text_body: bytes = b"B-SECRET-MODEL\n"
    default: Tenant
    a: Tenant
    b: Tenant
    unknown: Tenant
    #: path parameters naming the tenant's scope (a cross-tenant request keeps A's there)
    scope_params: frozenset[str] = frozenset()
    #: tenant keys whose values are object ids in bodies (A's are swapped for B's)
    object_ids: tuple[str, ...] = ()
    #: where tenant B lives in the vendor's state: (list key, id field, tenant key)
    state_tenants: tuple[str, str, str]
    #: strings only tenant B's objects hold
    b_markers: list[str] = []
    #: option sets under which the route-by-route tests run again (a second implementation)
    extra_options: list[dict[str, Any]] = []
    #: one valid request answered ``probe_status``: (method, path, headers, JSON body)
    probe: tuple[str, str, dict[str, str], Any]
    probe_status: int = 200

    # -- requests -----------------------------------------------------------------------------
    def path_table(self, t: Tenant) -> dict[str, str]:
        """Values of the vendor's path parameters for tenant ``t``."""
        return {}

    def path_values(self, op: Op, t: Tenant) -> dict[str, str]:
        values = self.path_table(t)
        return {name: values.get(name, "reliability") for name in op.path_names()}  # a new parameter: any value

    def credentials(self, op: Op, t: Tenant) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, query) a valid request of ``op`` carries for tenant ``t``."""
        raise NotImplementedError

    def prepare(self, url: str, t: Tenant, tag: str = "tenant") -> Tenant:
        """Make what a tenant's requests need on a fresh server (e.g. a registered device); returns ``t``."""
        return t

    def error_body_ok(self, status: int, content: bytes) -> bool:
        """An error body outside the JSON schema the vendor's real service also sends."""
        return False

    # -- tenant isolation -----------------------------------------------------------------------
    def second_fixture(self) -> dict[str, Any]:
        """The fixture part that loads tenant B (and whatever A needs beyond the defaults)."""
        raise NotImplementedError

    def prepare_pair(self, url: str) -> None:
        """Objects of A and B made through the API after ``second_fixture`` is loaded."""
        self.prepare(url, self.a, "tenant-a")

    def b_part(self, state: dict[str, Any]) -> Any:
        key, field, tenant_key = self.state_tenants
        return [x for x in state[key] if x[field] == self.b[tenant_key]]

    def retarget(self, body: Any, a: Tenant, b: Tenant) -> Any:
        """``body`` with A's object ids swapped for B's."""
        if body is None:
            return None
        text = json.dumps(body)
        for key in self.object_ids:
            text = text.replace(a[key], b[key])
        return json.loads(text)

    def objects_query(self, op: Op, query: dict[str, str], a: Tenant, b: Tenant) -> dict[str, str]:
        """A's query aimed at B's objects."""
        return query

    def keyless(self, op: Op) -> bool:
        """A route that carries no credential (the client SDK's own calls)."""
        return False

    def attempts(self, op: Op, a: Tenant, b: Tenant) -> list[Attempt]:
        """The cross-tenant requests for one route: A's credentials aimed at B's objects, then at B's scope."""
        from tests.reliability.rel_routes import fill

        headers, query = self.credentials(op, a)
        ids = self.path_values(op, b)
        scope = {k: v for k, v in self.path_values(op, a).items() if k in self.scope_params}
        query = self.objects_query(op, query, a, b)
        body = self.retarget(op.valid_body(), a, b)
        data = json.dumps(body).encode() if body is not None else (self.b_text_body if op.text_body() else None)
        out: list[Attempt] = [("A's credentials, B's objects", fill(op.path, {**ids, **scope}), headers, query, data)]
        out += self.extra_attempts(op, a, headers)
        if scope and not self.keyless(op):
            out.append(("A's credentials, B's scope", fill(op.path, ids), headers, query, data))
        return out

    def extra_attempts(self, op: Op, a: Tenant, headers: dict[str, str]) -> list[Attempt]:
        return []

    def unknown_check(self, op: Op) -> Callable[[requests.Response], bool] | None:
        """How a route answers credentials nobody holds when that is not a 4xx refusal."""
        return None

    # -- fuzzing and chaos ----------------------------------------------------------------------
    def fuzz_pins(self, path: str, operation: Any) -> dict[str, Any]:
        """schemathesis ``as_strategy()`` keyword arguments that pin the default credentials."""
        raise NotImplementedError

    def chaos_calls(self, url: str, n: int) -> list[Call]:
        """A few valid reads and writes for the chaos test (``n`` varies ids)."""
        method, path, headers, body = self.probe
        return [(method, url + path, {"headers": headers, "json": body})]


def match_first(table: Iterable[tuple[str, str, Any]], method: str, path: str, *, regex_method: bool) -> Any:
    for m, p, value in table:
        if (re.fullmatch(m, method) if regex_method else m == method) and re.search(p, path):
            return value
    return None


_CONTRACTS: dict[str, Contract] = {}


def register(contract: Contract) -> None:
    """Make a contract known under its vendor's name (a test's extra vendor)."""
    _CONTRACTS[contract.vendor] = contract


def contract_for(vendor: str) -> Contract:
    """The contract of ``vendor``: ``tests/<vendor>/contract.py`` ``CONTRACT``; fails loudly without one."""
    if vendor not in _CONTRACTS:
        try:
            module = importlib.import_module(f"tests.{vendor}.contract")
        except ModuleNotFoundError as exc:
            raise AssertionError(f"vendor {vendor!r} has no test contract: write tests/{vendor}/contract.py with "
                                 f"CONTRACT = a tests.contract.Contract subclass ({exc})") from None
        contract = getattr(module, "CONTRACT", None)
        assert isinstance(contract, Contract) and contract.vendor == vendor, \
            f"tests/{vendor}/contract.py: CONTRACT must be a tests.contract.Contract for {vendor!r}"
        _CONTRACTS[vendor] = contract
    return _CONTRACTS[vendor]


def contracts(vendor_classes: Iterable[Any] | None = None) -> list[Contract]:
    """The contract of every vendor of a registry (``emulator.vendors.REGISTRY`` by default)."""
    if vendor_classes is None:
        from emulator.vendors import REGISTRY
        vendor_classes = REGISTRY
    return [contract_for(cls.name) for cls in vendor_classes]
