"""Shared fixtures: the generated package on sys.path, the protocol version under test (its module,
IR and golden corpus), and the attributes of the fields the runtime tests need, found by role.

`RRQ_TEST_PROTOCOL` picks the version (run.sh runs the suite once per version); its module is
importable as ``rrq_proto`` (``rrq_runner.v1``, ``rrq_runner.v2``, ...)."""

from __future__ import annotations

import base64
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(os.environ.get("RRQ_PYTHON_PACKAGE", ROOT / "generated" / "python"))

if str(PACKAGE_DIR) not in sys.path:
    sys.path.insert(0, str(PACKAGE_DIR))

import rrq_runner  # noqa: E402

PROTOCOL = os.environ.get("RRQ_TEST_PROTOCOL") or rrq_runner.PROTOCOL_VERSION
MODULE = f"rrq_runner.v{PROTOCOL}"
P = importlib.import_module(MODULE)
sys.modules["rrq_proto"] = P
GOLDEN_DIR = ROOT / "generated" / f"v{PROTOCOL}" / "golden"


def load_ir() -> dict[str, Any]:
    """The IR the package was rendered from (`rrq-codegen ir`), cached by run.sh in RRQ_IR_JSON."""
    cached = os.environ.get("RRQ_IR_DIR")
    if cached:
        return json.loads((Path(cached) / f"v{PROTOCOL}.json").read_text())
    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "rrq-codegen", "--", "ir", "--protocol", PROTOCOL],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    return json.loads(out)


IR = load_ir()
TYPES = {t["name"]: t for t in IR["types"]}
assert IR["meta"]["version"] == PROTOCOL


def variant_type(role: str) -> dict[str, Any]:
    """The struct of the root union's variant with `role` (request, response, cancel)."""
    variant = next(v for v in TYPES[IR["root"]]["variants"] if v.get("role") == role)
    return TYPES[variant["ty"]]


def field_with(struct: dict[str, Any], role: str) -> dict[str, Any]:
    return next(f for f in struct["fields"] if f.get("role") == role)


REQUEST = variant_type("request")
CONTEXT = TYPES[field_with(REQUEST, "context")["ty"]["name"]]
INPUTS = [f["name"] for f in REQUEST["fields"] if f.get("role") == "input"]
"""The request's handler-input fields (v1: args and kwargs; v2: params)."""
INPUT_MAP = next(f["name"] for f in REQUEST["fields"] if f.get("role") == "input" and f["ty"]["kind"] == "map")
"""The input field holding named values (where handlers read options such as ``seconds``)."""
FUNCTION = field_with(REQUEST, "function-name")["name"]
JOB_ID = field_with(REQUEST, "job-id")["name"]
REQUEST_ID = field_with(REQUEST, "request-id")["name"]
VERSION_FIELD = field_with(REQUEST, "protocol-version")["name"]
CONTEXT_FIELD = field_with(REQUEST, "context")["name"]
CONTEXT_JOB_ID = field_with(CONTEXT, "job-id")["name"]
DEADLINE = field_with(CONTEXT, "deadline")["name"]


def inputs_of(request: Any) -> dict[str, Any]:
    """What an echo handler returns: every input field by name."""
    return {name: getattr(request, name) for name in INPUTS}


def options(**values: Any) -> dict[str, Any]:
    """Request changes that put `values` in the input map."""
    return {INPUT_MAP: values}


def load_corpus() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(GOLDEN_DIR.glob("*.json")):
        cases.extend(json.loads(path.read_text())["cases"])
    return cases


CORPUS = load_corpus()


def frame_of(case: dict[str, Any]) -> bytes:
    return base64.b64decode(case["frame"])


@pytest.fixture(scope="session")
def ir() -> dict[str, Any]:
    return IR
