#!/usr/bin/env python3
"""Validate Kubernetes manifests against a vendored CustomResourceDefinition schema.

  crd_validate.py CRD_YAML MANIFEST... [--version V] [--strict]

Follows tests/schemas/README.md: take spec.versions[name == V].schema.openAPIV3Schema (default: the
storage version), turn OpenAPI 3.0 `nullable: true` into an extra "null" type, and with --strict add
`additionalProperties: false` to every object schema that lists `properties` and is not marked
`x-kubernetes-preserve-unknown-fields: true` (the API server would prune or, under strict field
validation, reject unknown fields). Only schema positions are walked, because a CRD can contain a
*field* named `properties`. Validation uses Draft 4 semantics (closest to the CRD subset);
x-kubernetes-* keywords, CEL rules included, are ignored.

Every YAML document of every MANIFEST must have the CRD's apiVersion and kind. Prints one line per
problem (`file: document N: path: message`) and exits 1 if there is any; exit 2 on bad usage.
Requires: PyYAML, jsonschema.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import jsonschema
import yaml


def crd_schema(crd: dict, version: str | None) -> tuple[dict, str, str]:
    versions = crd["spec"]["versions"]
    if version is None:
        chosen = next(v for v in versions if v.get("storage"))
    else:
        matches = [v for v in versions if v["name"] == version]
        if not matches:
            raise SystemExit(f"error: CRD has no version {version!r}")
        chosen = matches[0]
    api_version = f"{crd['spec']['group']}/{chosen['name']}"
    return chosen["schema"]["openAPIV3Schema"], api_version, crd["spec"]["names"]["kind"]


def to_json_schema(node: Any, strict: bool) -> Any:
    """Rewrites one schema node (and the schema nodes below it) into plain JSON Schema."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out:
        out["properties"] = {k: to_json_schema(v, strict) for k, v in out["properties"].items()}
        if strict and not out.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in out:
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(out.get(key), dict):
            out[key] = to_json_schema(out[key], strict)
    for key in ("anyOf", "allOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [to_json_schema(v, strict) for v in out[key]]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crd")
    ap.add_argument("manifests", nargs="+")
    ap.add_argument("--version")
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args()

    with open(args.crd) as fh:
        schema, api_version, kind = crd_schema(yaml.safe_load(fh), args.version)
    validator = jsonschema.Draft4Validator(to_json_schema(schema, args.strict))

    problems = 0
    checked = 0
    for path in args.manifests:
        with open(path) as fh:
            docs = [d for d in yaml.safe_load_all(fh) if d is not None]
        if not docs:
            print(f"{path}: no YAML document")
            problems += 1
        for n, doc in enumerate(docs, 1):
            # YAML timestamps and the like become strings, as they are in the API's JSON.
            doc = json.loads(json.dumps(doc, default=str))
            if not isinstance(doc, dict) or doc.get("apiVersion") != api_version or doc.get("kind") != kind:
                print(f"{path}: document {n}: not a {api_version} {kind}")
                problems += 1
                continue
            checked += 1
            for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                where = ".".join(str(p) for p in err.absolute_path) or "<root>"
                print(f"{path}: document {n}: {where}: {err.message}")
                problems += 1
    print(f"{checked} document(s) checked, {problems} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
