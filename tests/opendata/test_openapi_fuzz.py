"""The API contract, fuzzed: schemathesis against AssetMap's own OpenAPI document (every
/api/v1, /oruk and /openactive route) and against the Open Referral UK profile's OpenAPI on
/oruk. A bounded number of examples per operation keeps this to a few minutes."""

from __future__ import annotations

import copy
import json
import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.opendata.conftest import shared

EXAMPLES = int(os.environ.get("ASSETMAP_FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
ORUK_REMOTE = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/"


def test_document_covers_every_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    documented = set(document["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/", "/oruk/", "/openactive/")) and not \
                rule.rule.endswith(("/openapi.json", "/docs")):
            path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
            assert path in documented, rule.rule
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in document["paths"][path], (rule.rule, method)
    services = document["paths"]["/oruk/services"]["get"]
    names = {p["$ref"].rsplit("/", 1)[-1] for p in services["parameters"]}
    assert {"search", "day", "postcode", "proximity", "walking_minutes", "page"} <= names
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "walking_minutes" in page.get_data(as_text=True)


def fuzz(schema, checks: list) -> None:
    """Every operation with a bounded number of generated requests; all failures reported.

    (schemathesis's pytest plugin does not yet run under pytest 9, so each operation gets
    its own Hypothesis test here.)
    """
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case) -> None:
            # The WSGI transport does not undo Content-Encoding, and the app gzips answers for
            # clients that accept it: ask for plain bodies, as the documents describe them.
            case.call_and_validate(checks=checks, headers={"Accept-Encoding": "identity"})

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect them all, then fail once
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert operations and not failures, "\n\n".join(failures)


def test_own_contract(app, demo):
    """No 5xx, answers as documented, only documented status codes."""
    fuzz(schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app),
         [not_a_server_error, response_schema_conformance, status_code_conformance])


def oruk_profile() -> dict:
    """The profile's OpenAPI with its remote schemas replaced by the local copies.

    The profile refers to schemas on GitHub; the shared data holds service, service_list and
    service_with_definitions (whose definitions give taxonomy and taxonomy_term). The
    service_at_location_list item is built from the same local definitions (id, a listed
    service, a location), as the profile's compiled file has it. The profile's `type: time`
    (not a JSON Schema type) is read as a string in time format.
    """
    folder = shared("standards", "oruk")
    document = json.loads((folder / "schema-openapi.json").read_text())
    service = json.loads((folder / "schema-service.json").read_text())
    listed = json.loads((folder / "schema-service_list.json").read_text())
    definitions = json.loads((folder / "schema-service_with_definitions.json").read_text())[
        "definitions"]

    def with_definitions(schema: dict) -> dict:
        return copy.deepcopy(schema) | {"definitions": definitions}

    local = {
        "compiled/service.json": service,
        "compiled/service_list.json": listed,
        "taxonomy.json": with_definitions(definitions["taxonomy"]),
        "taxonomy_term.json": with_definitions(definitions["taxonomy_term"]),
        "compiled/service_at_location_list.json": {
            "type": "object", "required": ["id"], "definitions": definitions,
            "properties": {"id": {"type": "string", "format": "uuid"},
                           "service": copy.deepcopy(listed),
                           "location": {"$ref": "#/definitions/location"}}},
    }

    def swap(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith(ORUK_REMOTE):
                return copy.deepcopy(local[ref[len(ORUK_REMOTE):]])
            if node.get("type") == "time":
                return {k: v for k, v in node.items() if k != "type"} | {
                    "type": "string", "format": "time"}
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    document = swap(document)
    assert ORUK_REMOTE not in json.dumps(document)
    document["servers"] = [{"url": "/oruk"}]
    return document


def test_oruk_profile_contract(app, demo):
    """The profile documents only 200s, so refusals (400) and unknown ids (404) are allowed;
    every 200 must match the profile's own schemas, and nothing may be a server error."""
    schema = schemathesis.openapi.from_dict(oruk_profile())
    schema.app = app
    fuzz(schema, [not_a_server_error, response_schema_conformance])
