"""OpenAPI 3.1 built from the same route table that serves requests, so it cannot drift.

Each :class:`~emulator.vendor.Route` gives method, canonical path and summary; its ``doc`` may add
``parameters``, ``requestBody`` (a JSON Schema, or ``{"content": ...}``), ``responses``
(``{"200": "description"}``, ``{"200": {"description": ..., "schema": <JSON Schema>}}`` or full
objects; build them with :func:`success` and :func:`closed_object`; a 4xx/5xx given as a string
gets the error body), ``security`` (overriding the vendor's default; ``[]`` = none) and
``content_type``. Every vendor route documents the vendor's error body (``Vendor.error_schema``)
as its default response and the vendor's authentication (``Vendor.security_schemes`` /
``Vendor.security``). A path parameter whose registered regex is a list of literals
(``{platform:apns|fcm|web}``) becomes an enum.

The tests hold the document to what is served: every response the suite receives from a vendor
or control-plane route is validated against it (``tests/openapi_contract.py``).
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


def closed_object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object with exactly these keys (all required but ``optional``) and no others."""
    return {"type": "object", "required": [k for k in properties if k not in optional],
            "properties": properties, "additionalProperties": False}


def full_match(pattern: str) -> dict[str, Any]:
    """A string schema matching the whole of a Python ``re.fullmatch`` pattern."""
    return {"type": "string", "pattern": f"^(?:{pattern})$"}


def success(schema: dict[str, Any] | None = None, description: str = "success", *,
            content_type: str = "application/json") -> dict[str, Any]:
    """A route's ``doc["responses"]`` entry: a body with this schema, or (no schema) no body."""
    if schema is None:
        return {"description": description}
    return {"description": description, "schema": schema, "content_type": content_type}


#: the 200 of a route that answers no body at all
NO_CONTENT = {"description": "success, with an empty body"}


def openapi_path(path: str) -> tuple[str, list[str]]:
    """``/a/{id:[0-9]+}/b`` -> (``/a/{id}/b``, [``id``])."""
    names: list[str] = []

    def repl(match: re.Match) -> str:
        names.append(match.group(1))
        return "{" + match.group(1) + "}"

    return PARAM.sub(repl, path), names


#: the description of the 200 a route without declared responses gets (the tests count these)
UNDECLARED = "success (no schema declared)"


def _responses(spec: dict[str, Any] | None, error_ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    error_content = {"application/json": {"schema": {"$ref": error_ref}}}
    for status, value in (spec or {"200": UNDECLARED}).items():
        if isinstance(value, str):
            out[str(status)] = {"description": value}
            if str(status)[0] in "45":  # a documented refusal has the API's error body
                out[str(status)]["content"] = error_content
        elif "schema" in value:
            ctype = value.get("content_type", "application/json")
            out[str(status)] = {"description": value.get("description", "success"),
                                "content": {ctype: {"schema": value["schema"]}}}
        else:
            out[str(status)] = value
    out.setdefault("default", {
        "description": "an error, in this API's own error shape",
        "content": error_content,
    })
    return out


def build_openapi(ctx: Context, server_url: str = "http://127.0.0.1:8780") -> dict[str, Any]:
    """The document; ``server_url`` is where the reader reached the emulator (its ``servers``)."""
    schemas: dict[str, Any] = {"ControlPlaneError": CONTROL_ERROR}
    security_schemes: dict[str, Any] = {}
    tags = [{"name": "control plane", "description": "the emulator's own /_emulator API"}]
    for name, vendor in ctx.vendors.items():
        schemas.update(_named_alternatives(f"{name}_error", vendor.error_schema))
        security_schemes.update(vendor.security_schemes)
        tags.append({"name": name, "description": vendor.title})
    paths: dict[str, dict[str, Any]] = {}
    for vendor_name, route in ctx.routes:
        path, names = openapi_path(route.path)
        doc = route.doc
        choices = _path_choices(route.pattern or route.path)
        params: list[dict[str, Any]] = [
            {"name": n, "in": "path", "required": True,
             "schema": {"type": "string", "enum": choices[n]} if n in choices else {"type": "string"}}
            for n in names
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
        if "security" in doc:  # a route's own requirement, [] meaning none
            operation["security"] = doc["security"]
        elif vendor_name and ctx.vendors[vendor_name].security:
            operation["security"] = ctx.vendors[vendor_name].security
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
        "servers": [{"url": server_url}],
        "tags": tags,
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
    }


def _named_alternatives(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``name`` -> ``schema``; when it is a ``oneOf``/``anyOf``, each alternative becomes a component
    of its own (``<name>_<title or n>``), so client generators name each shape once and distinctly."""
    key = next((k for k in ("oneOf", "anyOf") if k in schema), None)
    if key is None:
        return {name: schema}
    out: dict[str, Any] = {}
    refs = []
    for n, alternative in enumerate(schema[key], 1):
        alt_name = f"{name}_{_slug(str(alternative.get('title', n)))}"
        out[alt_name] = alternative
        refs.append({"$ref": f"#/components/schemas/{alt_name}"})
    out[name] = {**schema, key: refs}
    return out


LITERALS = re.compile(r"[A-Za-z0-9_-]+(?:\|[A-Za-z0-9_-]+)*")


def _path_choices(pattern: str) -> dict[str, list[str]]:
    """Path parameters whose registered regex is an alternation of literals (``{platform:apns|fcm|web}``):
    their values, the same list the router accepts."""
    out: dict[str, list[str]] = {}
    for match in PARAM.finditer(pattern):
        regex = match.group(0)[len(match.group(1)) + 2:-1]
        if regex and LITERALS.fullmatch(regex):
            out[match.group(1)] = regex.split("|")
    return out


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"


# -- the readable rendering at /_emulator/api ------------------------------------------------------

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
PAGE_STYLE = """
body{font:14px/1.5 system-ui,sans-serif;margin:0;color:#1d232b;background:#f7f8fa}
header{padding:.8rem 1.2rem;background:#fff;border-bottom:1px solid #dde1e6}
main{padding:1rem 1.2rem;max-width:1200px}
nav a{margin-right:.8rem}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.6rem 1rem;margin:0 0 1rem}
details{border-top:1px solid #eef0f2;padding:.35rem 0}
summary{cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
code,pre{font-family:ui-monospace,Menlo,monospace;font-size:.82rem}
pre{background:#f7f8fa;border:1px solid #dde1e6;border-radius:4px;padding:.5rem;overflow:auto;max-height:24rem}
.m{display:inline-block;width:4.2rem;font-weight:600}
.get{color:#1f8a4c}.post{color:#2f6fdf}.put,.patch{color:#a05a00}.delete{color:#c23a2b}
"""


def render_html(doc: dict[str, Any]) -> str:
    """Every operation grouped by tag: method, path, summary, parameters, security, request body
    and responses with their schemas. Plain HTML, no script, nothing from a CDN."""
    from html import escape
    from json import dumps

    def pre(value: Any) -> str:
        return f"<pre>{escape(dumps(value, indent=2, ensure_ascii=False))}</pre>"

    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {t["name"]: [] for t in doc.get("tags", [])}
    for path, ops in doc["paths"].items():
        for method in METHOD_ORDER:
            if method in ops:
                by_tag.setdefault(ops[method]["tags"][0], []).append((method, path, ops[method]))
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(doc['info']['title'])} API"
             f"</title><style>{PAGE_STYLE}</style></head><body><header><h1>{escape(doc['info']['title'])} "
             f"{escape(doc['info']['version'])}</h1><p>{escape(doc['info'].get('description', ''))} Server: "
             f"<code>{escape(doc['servers'][0]['url'])}</code> · <a href=openapi.json>openapi.json</a></p><nav>"]
    parts += [f"<a href='#{escape(tag)}'>{escape(tag)}</a>" for tag in by_tag]
    parts.append("</nav></header><main>")
    for tag, operations in by_tag.items():
        parts.append(f"<section id='{escape(tag)}'><h2>{escape(tag)}</h2>")
        for method, path, op in operations:
            parts.append(f"<details><summary><span class='m {method}'>{method.upper()}</span> <code>"
                         f"{escape(path)}</code> — {escape(op.get('summary', ''))}</summary>")
            if op.get("parameters"):
                parts.append("<h4>Parameters</h4>" + pre(op["parameters"]))
            if op.get("security"):
                parts.append("<h4>Security</h4>" + pre(op["security"]))
            if op.get("requestBody"):
                parts.append("<h4>Request body</h4>" + pre(op["requestBody"]))
            parts.append("<h4>Responses</h4>" + pre(op["responses"]))
            parts.append("</details>")
        parts.append("</section>")
    parts.append("<section><h2>Schemas</h2>" + pre(doc["components"]) + "</section></main></body></html>")
    return "".join(parts)
