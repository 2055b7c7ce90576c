"""Shared fixtures: the generated package on sys.path, the IR, the golden corpus."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(os.environ.get("RRQ_PYTHON_PACKAGE", ROOT / "generated" / "python"))
GOLDEN_DIR = ROOT / "generated" / "golden"

if str(PACKAGE_DIR) not in sys.path:
    sys.path.insert(0, str(PACKAGE_DIR))


def load_ir() -> dict[str, Any]:
    """The IR the package was rendered from (`rrq-codegen ir`), cached by run.sh in RRQ_IR_JSON."""
    cached = os.environ.get("RRQ_IR_JSON")
    if cached:
        return json.loads(Path(cached).read_text())
    out = subprocess.run(
        ["cargo", "run", "-q", "-p", "rrq-codegen", "--", "ir"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    return json.loads(out)


IR = load_ir()
TYPES = {t["name"]: t for t in IR["types"]}


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
