"""The committed JSON Schema against a third-party validator.

1. The schema is valid draft 2020-12 (checked against the metaschema by `jsonschema`).
2. For every golden-corpus frame whose body is a well-formed JSON document, the schema's verdict
   equals the Rust crate's, except where the rule that decides is one JSON Schema cannot
   express (each is listed in README.md, "What the schema cannot express"):
   - timestamps: the schema's `pattern` checks the shape, not the calendar (day of month),
     the ranges of fields and offsets, or the range once shifted to UTC;
   - integers: JSON Schema counts `1.0` and `-0` as integers; serde_json reads both as floats.
   Frames the Rust crate rejects for framing or JSON syntax (`length`, `json`) carry no
   document to validate and are skipped.
"""

from __future__ import annotations

import base64
import json
import pathlib
import sys
from typing import Any

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA: dict[str, Any] = {}
"""The schema of the protocol version being checked (each of generated/v<N>/ in turn)."""


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        any_of = schema.get("anyOf")
        if any_of:
            return resolve(next(s for s in any_of if s.get("type") != "null"))
        return schema
    return resolve(SCHEMA["$defs"][ref.removeprefix("#/$defs/")])


def field_schema(document: Any, path: str) -> dict[str, Any] | None:
    """The schema of the value at `path` (e.g. `payload.context.attempt`), or None."""
    if not isinstance(document, dict) or not path or path == "$":
        return None
    tag = document.get("type")
    variant = next(
        (v for v in SCHEMA["oneOf"] if v["properties"]["type"].get("const") == tag), None
    )
    if variant is None:
        return None
    schema: dict[str, Any] = variant
    for segment in path.replace("[", ".[").split("."):
        if not segment:
            continue
        schema = resolve(schema)
        if segment.startswith("["):
            schema = schema.get("items") or schema.get("additionalProperties") or {}
        else:
            schema = schema.get("properties", {}).get(segment) or schema.get(
                "additionalProperties"
            ) or {}
        if not isinstance(schema, dict):
            return None
    return resolve(schema)


def inexpressible(case: dict[str, Any], document: Any) -> str | None:
    """Why the schema cannot decide this case, or None if it must agree with Rust."""
    error = case.get("error")
    if error is None:
        return None
    target = field_schema(document, error.get("path", ""))
    if target is None:
        return None
    if error["kind"] == "value" and target.get("format") == "date-time":
        return "timestamp semantics beyond the pattern"
    if error["kind"] == "type" and "integer" in (
        target.get("type") if isinstance(target.get("type"), list) else [target.get("type")]
    ):
        value: Any = document
        for segment in error["path"].split("."):
            value = value.get(segment) if isinstance(value, dict) else None
        if isinstance(value, float) and value.is_integer():  # `-0` is parsed as -0.0 below
            return "integer written with a fraction or exponent"
    return None


def parse_int(text: str) -> int | float:
    """serde_json reads `-0` as the float -0.0, not as an integer."""
    return -0.0 if text == "-0" else int(text)


def main() -> int:
    versions = sorted((ROOT / "generated").glob("v*/schema.json"))
    if not versions:
        print("no protocol version under generated/", file=sys.stderr)
        return 1
    return max(check(path.parent) for path in versions)


def check(folder: pathlib.Path) -> int:
    """Checks one protocol version's schema and corpus (`generated/v<N>/`)."""
    SCHEMA.clear()
    SCHEMA.update(json.loads((folder / "schema.json").read_text()))
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    cases = [
        case
        for path in sorted((folder / "golden").glob("*.json"))
        for case in json.loads(path.read_text())["cases"]
    ]
    if not cases:
        print("no golden corpus found", file=sys.stderr)
        return 1
    checked, skipped, excused, failures = 0, 0, {}, []
    for case in cases:
        if case["verdict"] == "reject" and case["error"]["kind"] in ("length", "json"):
            skipped += 1
            continue
        frame = base64.b64decode(case["frame"])
        document = json.loads(frame[4:].decode("utf-8"), parse_int=parse_int)
        schema_accepts = validator.is_valid(document)
        rust_accepts = case["verdict"] == "accept"
        checked += 1
        if schema_accepts == rust_accepts:
            continue
        reason = inexpressible(case, document) if schema_accepts else None
        if reason:
            excused[reason] = excused.get(reason, 0) + 1
        else:
            failures.append(
                f"{case['name']}: schema {'accepts' if schema_accepts else 'rejects'}, "
                f"Rust {'accepts' if rust_accepts else 'rejects'} "
                f"({case.get('error', {}).get('message', '')})"
            )
    print(
        f"{folder.name}: schema vs Rust: {checked} documents compared, {checked - sum(excused.values()) - len(failures)} "
        f"agree, {skipped} frames without a document skipped; excused: {excused or 'none'}"
    )
    for failure in failures:
        print("DISAGREE", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
