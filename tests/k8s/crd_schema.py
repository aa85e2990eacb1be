"""Strict validation against the real KubeRay 1.7.0 CRD schemas, as an API server with
`fieldValidation=Strict` would do: types, enums, required fields, and unknown fields rejected."""

from __future__ import annotations

import copy
import functools
from typing import Any

import jsonschema
import yaml

from conftest import SHARED

CRDS = SHARED / "kuberay-crds"


def _strict(node: Any) -> Any:
    """OpenAPI v3 structural schema -> JSON Schema that rejects unknown fields."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-") or k == "x-kubernetes-int-or-string"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("x-kubernetes-int-or-string")
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    else:
        out.pop("x-kubernetes-int-or-string", None)
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node \
            and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable"):
        out.pop("nullable")
        if "type" in out:
            out["type"] = [out["type"], "null"]
    return out


@functools.cache
def crd_validator(filename: str, version: str = "v1") -> jsonschema.Draft7Validator:
    crd = yaml.safe_load((CRDS / filename).read_text())
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema = _strict(copy.deepcopy(served["schema"]["openAPIV3Schema"]))
    # apiVersion/kind/metadata are checked by the API server itself, not by this schema
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


def crd_errors(body: dict[str, Any], filename: str = "ray.io_rayjobs.yaml") -> list[str]:
    validator = crd_validator(filename)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


def assert_valid_rayjob(body: dict[str, Any]) -> None:
    assert body["apiVersion"] == "ray.io/v1" and body["kind"] == "RayJob"
    errors = crd_errors(body)
    assert not errors, "\n".join(errors[:10])
