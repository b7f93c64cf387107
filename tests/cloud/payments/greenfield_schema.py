"""BTCPay's own Greenfield OpenAPI files as JSON Schema validators (read in place, not copied).

OpenAPI 3.0 needs two adaptations for a JSON Schema validator: `$ref`s are resolved across
the three files, `allOf` object parts are merged (their `additionalProperties: false` is
meant for the merged object), and `nullable: true` admits null.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from tests.support.processes import ROOT

REFERENCE = ROOT.parent / "shared" / "reference" / "btcpay-greenfield"
FILES = (
    "swagger.template.json",
    "swagger.template.invoices.json",
    "swagger.template.webhooks.json",
    "swagger.template.pull-payments.json",
)


@lru_cache(maxsize=1)
def documents() -> dict[str, Any]:
    return {name: json.loads((REFERENCE / name).read_text()) for name in FILES}


@lru_cache(maxsize=1)
def components() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for doc in documents().values():
        merged.update(doc.get("components", {}).get("schemas", {}))
    return merged


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                result.setdefault("properties", {}).update(value)
            elif key == "required":
                result["required"] = sorted(set(result.get("required", [])) | set(value))
            elif key == "additionalProperties":
                result[key] = result.get(key, True) and value
            else:
                result.setdefault(key, value)
    return result


def normalise(schema: Any, depth: int = 0) -> Any:
    if depth > 40:
        return {}
    if isinstance(schema, list):
        return [normalise(item, depth + 1) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = components()[schema["$ref"].rsplit("/", 1)[-1]]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return normalise(_merge([rest, target]) if rest else target, depth + 1)
    if "allOf" in schema:
        parts = [normalise(part, depth + 1) for part in schema["allOf"]]
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return normalise(_merge([rest, *parts]), depth + 1)
    out = {key: normalise(value, depth + 1) for key, value in schema.items()}
    if "properties" in schema:
        out["properties"] = {k: normalise(v, depth + 1) for k, v in schema["properties"].items()}
    if out.pop("nullable", False):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(normalise({"$ref": f"#/components/schemas/{name}"}))


def request_validator(file: str, path: str, method: str = "post") -> Draft202012Validator:
    """The documented request body of an operation, by its path in one of the files."""
    operation = documents()[file]["paths"][path][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator(normalise(schema))


def webhook_validator(event_type: str) -> Draft202012Validator:
    """The documented payload schema of a delivery type (the base invoice event for types
    newer than the files, such as InvoicePaidAfterExpiration)."""
    hooks = documents()["swagger.template.webhooks.json"]["x-webhooks"]
    entry = hooks.get(event_type)
    if entry is None:
        return validator("WebhookInvoiceEvent")
    schema = entry["post"]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator(normalise(schema))


def errors(validator_: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator_.iter_errors(instance)]
