"""The OpenAPI 3.1 document of every /api/v1, /oruk and /openactive route, generated from code.

Paths, methods and path parameters come from the app's URL map, so a new route appears by
itself; summaries and descriptions from each view's docstring; query parameters, request
bodies and responses from the YAML after a `---` line in that docstring (apispec's
convention), so what a view takes is written where the view is. Every operation also
documents the error answers the app's one error handler gives. A test checks that every
route is here and that each documented query parameter is one the view reads.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from flask import Flask
from markupsafe import Markup, escape

from assetmap.opendata import oruk_query

PREFIXES = ("/api/v1/", "/oruk/", "/openactive/")
METHODS = ("get", "post", "put", "patch", "delete")
MAX_ID = 2**31 - 1
_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                        "field": {"type": "string",
                                  "description": "the parameter or field that was refused"},
                        "allowed": {"type": "array"}}}
PAGE = {"type": "object",
        "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                     "last_page", "empty", "contents"],
        "properties": {"total_items": {"type": "integer"}, "total_pages": {"type": "integer"},
                       "page_number": {"type": "integer"}, "size": {"type": "integer"},
                       "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
                       "empty": {"type": "boolean"}, "contents": {"type": "array"}}}


def _object(*required: str, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required),
            "properties": {name: {"type": kind} for name, kind in properties.items()}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": ERROR,
    "Service": _object("id", "name", "status", id="string", name="string",
                       description="string", status="string", last_modified="string"),
    "ServiceAtLocation": _object("id", id="string", service="object", location="object"),
    "Taxonomy": _object("id", "name", "description", id="string", name="string",
                        description="string", uri="string"),
    "TaxonomyTerm": _object("id", "name", "description", id="string", name="string",
                            description="string", taxonomy_id="string", term_uri="string"),
    "RpdePage": _object("next", "items", "license", next="string", items="array",
                        license="string"),
}
for _name in ("Service", "ServiceAtLocation", "Taxonomy", "TaxonomyTerm"):
    SCHEMAS[_name + "Page"] = {"allOf": [PAGE, {"properties": {"contents": {
        "type": "array", "items": {"$ref": f"#/components/schemas/{_name}"}}}}]}


def _json(schema: str, description: str = "OK") -> dict[str, Any]:
    """A response (for docstrings: `x-json: Service`)."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/"
                                                                  f"{schema}"}}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                        "text/html": {"schema": {"type": "string"}}}}


def _path_and_parameters(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = []

    def swap(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "default", match.group(2)
        schema: dict[str, Any] = {"type": "string"}
        if converter == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(swap, rule), parameters


def _describe(doc: str | None) -> tuple[str, str]:
    text = (doc or "").split("---")[0].strip()
    summary, _, rest = text.partition("\n\n")
    return " ".join(summary.split()), rest.strip()


def _shared_query(operation: dict[str, Any]) -> list[str]:
    """The names of an operation's `x-query`: a list (`[search, page]`), or `service-list`
    for every filter of the lists of services."""
    query = operation.pop("x-query", [])
    return list(oruk_query.SERVICE_LIST_QUERY if query == "service-list" else query)


def build(app: Flask, *, server_url: str | None = None) -> dict[str, Any]:
    """The document, built afresh from the app's routes and views."""
    spec = APISpec(title="AssetMap API", version="1", openapi_version="3.1.0", info={
        "description": "Listings, walking-distance matches and suggestions (`/api/v1`), the "
                       "Open Referral UK API (`/oruk`) and the OpenActive feed "
                       "(`/openactive`). Errors are JSON (`error`, `message`, and `field` "
                       "naming the parameter) when the client accepts JSON.",
        "license": {"name": "AGPL-3.0-or-later",
                    "identifier": "AGPL-3.0-or-later"}})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, parameter in oruk_query.PARAMETERS.items():
        spec.components.parameter(name, "query", {k: v for k, v in parameter.items()
                                                  if k not in ("name", "in")})
    by_path: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIXES) or rule.rule.endswith(
                ("/openapi.json", "/docs")):
            continue  # /openactive itself is the dataset site, a page for people
        path, path_parameters = _path_and_parameters(rule.rule)
        view = app.view_functions[rule.endpoint]
        documented = load_operations_from_docstring(view.__doc__ or "")
        summary, description = _describe(view.__doc__)
        for method in sorted(m.lower() for m in rule.methods or ()):
            if method not in METHODS:
                continue
            operation = copy.deepcopy(documented.get(method, {}))
            # Shorthands: `x-query` for the shared query parameters and `x-json: Service`
            # for the 200 answer's schema.
            operation["parameters"] = _shared_query(operation) + operation.get(
                "parameters", [])  # names are apispec's references to components
            if "x-json" in operation:
                operation.setdefault("responses", {})["200"] = _json(operation.pop("x-json"))
            operation.setdefault("operationId", f"{rule.endpoint}.{method}")
            operation.setdefault("summary", summary or rule.endpoint)
            if description:
                operation.setdefault("description", description)
            operation.setdefault("tags", [rule.rule.strip("/").split("/")[0]
                                          if not rule.rule.startswith("/api/v1") else "api"])
            named = {p["name"] if isinstance(p, dict) else p for p in operation["parameters"]}
            operation["parameters"] = [p for p in path_parameters if p["name"] not in named] \
                + operation.get("parameters", [])
            responses = operation.setdefault("responses", {})
            if not any(str(code).startswith("2") for code in responses):
                responses["200"] = {"description": "OK", "content": {
                    "application/json": {"schema": {"type": "object"}}}}
            if operation["parameters"] or method != "get":
                responses.setdefault("400", _error("A parameter or field was refused; "
                                                   "`field` names it."))
            if path_parameters:
                responses.setdefault("404", _error("Nothing has that id."))
            responses.setdefault("405", _error("Not a method this path answers; see `Allow`."))
            if not operation["parameters"]:
                operation.pop("parameters")
            by_path.setdefault(path, {})[method] = operation
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def words(text: str) -> Markup:
    """Docstring text for the page: escaped, with `code` in backticks shown as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text or ""))))


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = document
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return target


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each operation with its parameters resolved, in path order, for the reference page."""
    out = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            parameters = [dict(_resolve(document, p)) for p in operation.get("parameters", [])]
            for parameter in parameters:
                parameter["words"] = words(parameter.get("description", ""))
            responses = [(code, words(r.get("description", "")))
                         for code, r in sorted(operation.get("responses", {}).items())]
            out.append({"method": method.upper(), "path": path, "id": operation["operationId"],
                        "summary": words(operation.get("summary", "")),
                        "paragraphs": [words(p) for p in operation.get(
                            "description", "").split("\n\n") if p.strip()],
                        "parameters": parameters, "body": operation.get("requestBody"),
                        "responses": responses})
    return out
