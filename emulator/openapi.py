"""OpenAPI 3.1 built from the same route table that serves requests, so it cannot drift.

Each :class:`~emulator.vendor.Route` gives method, canonical path and summary; its ``doc`` may add
``parameters``, ``requestBody`` (a JSON Schema, or ``{"content": ...}``), ``responses``
(``{"200": "description"}`` or full objects) and ``content_type``. Every vendor route documents
the vendor's error body (``Vendor.error_schema``) as its default response.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")

CONTROL_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "path": {"type": "string"}},
}


def openapi_path(path: str) -> tuple[str, list[str]]:
    """``/a/{id:[0-9]+}/b`` -> (``/a/{id}/b``, [``id``])."""
    names: list[str] = []

    def repl(match: re.Match) -> str:
        names.append(match.group(1))
        return "{" + match.group(1) + "}"

    return PARAM.sub(repl, path), names


def _responses(spec: dict[str, Any] | None, error_ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, value in (spec or {"200": "success"}).items():
        out[str(status)] = {"description": value} if isinstance(value, str) else value
    out.setdefault("default", {
        "description": "an error, in this API's own error shape",
        "content": {"application/json": {"schema": {"$ref": error_ref}}},
    })
    return out


def build_openapi(ctx: Context) -> dict[str, Any]:
    schemas: dict[str, Any] = {"ControlPlaneError": CONTROL_ERROR}
    tags = [{"name": "control plane", "description": "the emulator's own /_emulator API"}]
    for name, vendor in ctx.vendors.items():
        schemas[f"{name}_error"] = vendor.error_schema
        tags.append({"name": name, "description": vendor.title})
    paths: dict[str, dict[str, Any]] = {}
    for vendor_name, route in ctx.routes:
        path, names = openapi_path(route.path)
        doc = route.doc
        params: list[dict[str, Any]] = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
        ]
        declared = {(p.get("name"), p.get("in")) for p in doc.get("parameters", [])}
        params = [p for p in params if (p["name"], "path") not in declared] + list(doc.get("parameters", []))
        error_ref = "#/components/schemas/" + (f"{vendor_name}_error" if vendor_name else "ControlPlaneError")
        handler = getattr(route.handler, "__name__", "handler")
        operation: dict[str, Any] = {
            "operationId": f"{vendor_name or 'control'}_{route.method.lower()}_{_slug(path)}",
            "summary": route.summary or handler.replace("_", " "),
            "tags": [vendor_name or "control plane"],
            "responses": _responses(doc.get("responses"), error_ref),
        }
        if params:
            operation["parameters"] = params
        body = doc.get("requestBody")
        if body is not None:
            if "content" in body:
                operation["requestBody"] = body
            else:
                ctype = doc.get("content_type", "application/json")
                operation["requestBody"] = {"content": {ctype: {"schema": body}}}
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "device-api-emulator",
            "version": __version__,
            "description": "Every emulated vendor route and the control plane, generated from the served route table.",
        },
        "servers": [{"url": "http://127.0.0.1:8780"}],
        "tags": tags,
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
