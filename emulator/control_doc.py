"""What each control-plane route answers on success, for the OpenAPI document.

Each body's schema is built from the definitions that produce it: the fault rule's from
:class:`~emulator.faults.FaultRule`'s fields, the clock's from ``Clock.describe``'s keys, the
journal entry's from ``journal.as_dict``'s keys. ``tests/core/test_openapi.py`` holds every control
answer the tests receive to these schemas.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

from .faults import FaultRule
from .openapi import closed_object, success
from .vendor import Route

STR = {"type": "string"}
NULLABLE_STR = {"type": ["string", "null"]}
COUNT = {"type": "integer", "minimum": 0}
OK = closed_object({"status": {"const": "ok"}})
#: a fixture document: one part per vendor, each the vendor's own shape (``docs/fixtures.md``)
STATE = {"type": "object", "additionalProperties": {"type": "object"}}

HEALTH_FIELDS = {
    "version": STR, "vendors": {"type": "array", "items": STR}, "db": STR, "auth": STR,
    "profiles": {"type": "object", "additionalProperties": STR},
    "proxy": NULLABLE_STR,  # the HTTPS proxy's URL, null when it is off
}
HEALTH = closed_object({"status": {"const": "ok"}, **HEALTH_FIELDS})
#: while writes fail (disk full, database file gone): a 503 that says why
UNHEALTHY = closed_object({"status": {"const": "error"}, **HEALTH_FIELDS, "error": STR})
RESET = closed_object({"status": {"const": "ok"}, "reset": STR})
TENANTS = closed_object({"vendor": STR, "label": STR, "tenants": {"type": "array", "items": closed_object(
    {"id": STR, "devices": COUNT})}})
#: one page of devices; each row has the columns the vendor's ``Browse`` names
DEVICES = closed_object({"vendor": STR, "tenant": STR, "offset": COUNT, "limit": COUNT, "total": COUNT,
                         "devices": {"type": "array", "items": {"type": "object"}}})
#: a journal entry (``journal.as_dict``); a vendor may add its own keys (``extra``)
JOURNAL_ENTRY = {
    "type": "object",
    "required": ["id", "time", "vendor", "method", "path", "query", "status", "duration_ms", "request_headers",
                 "request_body", "response_body"],
    "properties": {
        "id": COUNT, "time": STR, "vendor": NULLABLE_STR, "method": STR, "path": STR, "query": STR,
        "status": {"type": ["integer", "null"]}, "duration_ms": {"type": "number"},
        "request_headers": {"type": "object", "additionalProperties": STR},
        "request_body": NULLABLE_STR, "response_body": NULLABLE_STR,
    },
}
REQUESTS = closed_object({"requests": {"type": "array", "items": JOURNAL_ENTRY}, "count": COUNT,
                          "capacity": COUNT})
#: ``Options.describe``: current values and each option's default, type, choices and help
OPTIONS = closed_object({
    "values": {"type": "object", "additionalProperties": True},
    "options": {"type": "object", "additionalProperties": {"type": "object"}},
})
CLOCK = closed_object({"now": {"type": "number"}, "iso": STR, "offset_seconds": {"type": "number"},
                       "frozen": {"type": "boolean"}})
_FIELD_TYPES = {"int": {"type": "integer"}, "int | None": {"type": ["integer", "null"]},
                "str | None": NULLABLE_STR, "bool": {"type": "boolean"}, "float": {"type": "number"}}
#: ``FaultRule.describe``: its public fields and ``remaining``
FAULT_RULE = closed_object({
    **{f.name: _FIELD_TYPES[str(f.type)] for f in fields(FaultRule) if not f.name.startswith("_")},
    "remaining": {"type": ["integer", "null"]}})
FAULTS = closed_object({"faults": {"type": "array", "items": FAULT_RULE}, "count": COUNT})
SEEDED = closed_object({"status": {"const": "ok"}, "seed": {"type": "integer"}})
HTML = success({"type": "string"}, "an HTML page", content_type="text/html")

#: handler name -> its ``doc["responses"]``
RESPONSES: dict[str, dict[str, Any]] = {
    "ca_pem": {"200": success({"type": "string"}, "the CA certificate, PEM", content_type="text/plain"),
               "404": "the proxy is off"},
    "health": {"200": success(HEALTH, "alive"), "503": success(UNHEALTHY, "writes fail; the error says why")},
    "reset": {"200": success(RESET, "state wiped and the start-up fixtures reloaded")},
    "get_state": {"200": success(STATE, "the state as a fixture document")},
    "put_state": {"200": success(OK, "replaced"), "400": "an invalid fixture document (nothing changed)"},
    "post_fixtures": {"200": success(OK, "merged"), "400": "an invalid fixture document (nothing changed)"},
    "get_tenants": {"200": success(TENANTS, "the vendor's tenants")},
    "get_devices": {"200": success(DEVICES, "one page of the tenant's devices"), "404": "no such tenant"},
    "get_requests": {"200": success(REQUESTS, "journaled requests, newest first")},
    "delete_requests": {"200": success(OK, "cleared")},
    "get_options": {"200": success(OPTIONS, "the options")},
    "patch_options": {"200": success(OPTIONS, "the options after the change")},
    "get_clock": {"200": success(CLOCK, "the clock")},
    "post_clock": {"200": success(CLOCK, "the clock after the change")},
    "post_fault": {"201": success(FAULT_RULE, "the rule added")},
    "get_faults": {"200": success(FAULTS, "the rules")},
    "delete_faults": {"200": success(OK, "removed")},
    "delete_fault": {"200": success(OK, "removed"), "404": "no such rule"},
    "seed_faults": {"200": success(SEEDED, "seeded")},
    "openapi_document": {"200": success({"type": "object", "required": ["openapi", "info", "paths"]},
                                        "this document, its servers naming the origin it was read from")},
    "api_page": {"200": HTML},
    "dashboard": {"200": HTML},
    "dashboard_asset": {"200": {"description": "the dashboard's script or style", "content": {
        "text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}},
        "text/html": {"schema": {"type": "string"}}}}, "404": "no such file"},
}


def with_responses(routes: list[Route]) -> list[Route]:
    """The control routes with the responses above added to their docs."""
    out = []
    for route in routes:
        responses = RESPONSES.get(getattr(route.handler, "__name__", ""))
        if responses is not None:
            route = Route(route.method, route.path, route.handler, route.summary, route.pattern,
                          {**route.doc, "responses": {**route.doc.get("responses", {}), **responses}})
        out.append(route)
    return out
