"""Tests of the parent watch: templates/python/package/_lifecycle.py and templates/typescript/src/lifecycle.ts.

Standard library only (unittest), any Python >= 3.10:

    python3 tests/rrq/lifecycle/test_lifecycle.py [-v]

Each test starts a parent (helper.py parent) that starts a child watching it (helper.py child,
or child.mjs for TypeScript), kills the parent with SIGKILL and measures how long the child
lives on. This process makes itself a child subreaper (Linux), so the orphaned child is handed
to it and it can reap the child and read its exit status. The modules are taken from the
templates with their first line (the generator's provenance header) removed; the TypeScript
one is compiled with the TypeScript compiler of tests/typescript (npm ci there), and those
tests are skipped when it or node is missing.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
HELPER = HERE / "helper.py"
CHILD_MJS = HERE / "child.mjs"
PY_TEMPLATE = ROOT / "templates" / "python" / "package" / "_lifecycle.py"
TS_TEMPLATE = ROOT / "templates" / "typescript" / "src" / "lifecycle.ts"
TSC = ROOT / "tests" / "typescript" / "node_modules" / ".bin" / "tsc"
TYPES = ROOT / "tests" / "typescript" / "node_modules" / "@types"

LIMIT = 1.0  # seconds: a runner exits within 1 s of its parent's death
LINUX = sys.platform.startswith("linux")

_scratch: tempfile.TemporaryDirectory[str] | None = None
PY_DIR = ""
TS_JS = ""
TS_SKIP = ""


def _untemplated(path: Path) -> str:
    first, _, rest = path.read_text(encoding="utf-8").partition("\n")
    assert first.startswith("{{") and "header" in first, f"{path}: first line is not the header: {first!r}"
    return rest


def setUpModule() -> None:
    global _scratch, PY_DIR, TS_JS, TS_SKIP
    if not LINUX:
        raise unittest.SkipTest("the tests reap orphans as a child subreaper, which needs Linux")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    _scratch = tempfile.TemporaryDirectory(prefix="rrq-lifecycle-")
    scratch = Path(_scratch.name)
    (scratch / "py").mkdir()
    (scratch / "py" / "_lifecycle.py").write_text(_untemplated(PY_TEMPLATE), encoding="utf-8")
    PY_DIR = str(scratch / "py")
    node = shutil.which("node")
    if node is None or not TSC.exists():
        TS_SKIP = "node or the TypeScript compiler (npm ci in tests/typescript) is missing"
        return
    ts = scratch / "ts"
    (ts / "src").mkdir(parents=True)
    (ts / "src" / "lifecycle.ts").write_text(_untemplated(TS_TEMPLATE), encoding="utf-8")
    (ts / "package.json").write_text('{"type": "module"}\n', encoding="utf-8")
    (ts / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "target": "ES2022",
                    "lib": ["ES2022"],
                    "module": "NodeNext",
                    "moduleResolution": "NodeNext",
                    "types": ["node"],
                    "typeRoots": [str(TYPES)],
                    "strict": True,
                    "noImplicitOverride": True,
                    "noFallthroughCasesInSwitch": True,
                    "declaration": True,
                    "rootDir": "src",
                    "outDir": "dist",
                },
                "include": ["src"],
            }
        ),
        encoding="utf-8",
    )
    subprocess.run([str(TSC), "-p", str(ts / "tsconfig.json")], check=True)
    TS_JS = str(ts / "dist" / "lifecycle.js")


def tearDownModule() -> None:
    if _scratch is not None:
        _scratch.cleanup()


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


class Family:
    """A parent (helper.py parent) and the child it started; kills both at the end."""

    def __init__(self, child_argv: list[str], *, from_thread: bool = False) -> None:
        argv = [sys.executable, str(HELPER), "parent", *(["--from-thread"] if from_thread else []), "--", *child_argv]
        self.parent = subprocess.Popen(argv, stdout=subprocess.PIPE)
        assert self.parent.stdout is not None
        self.child = int(self.parent.stdout.readline())

    def kill_parent(self) -> float:
        """SIGKILLs the parent and reaps it; returns the monotonic time of the kill."""
        killed_at = time.monotonic()
        self.parent.kill()
        self.parent.wait()
        return killed_at

    def wait_child(self, timeout: float) -> int | None:
        """Waits for the orphaned child (handed to us) to exit; its wait status, or None."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status = os.waitpid(self.child, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0  # not handed to us yet
            if pid:
                return status
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)

    def close(self) -> None:
        if self.parent.stdout is not None:
            self.parent.stdout.close()
        if self.parent.poll() is None:
            self.parent.kill()
            self.parent.wait()
        if alive(self.child):
            os.kill(self.child, signal.SIGKILL)
        self.wait_child(2.0)


class Events:
    def __init__(self, directory: str) -> None:
        self.path = Path(directory) / f"events-{time.monotonic_ns()}.jsonl"
        self.path.touch()

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def wait(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.all():
                if event["event"] == name:
                    return event
            time.sleep(0.01)
        raise AssertionError(f"no {name!r} event within {timeout} s; events: {self.all()}")

    def names(self) -> list[str]:
        return [event["event"] for event in self.all()]


class LifecycleTest(unittest.TestCase):
    def setUp(self) -> None:
        assert _scratch is not None
        self.events = Events(_scratch.name)
        self.families: list[Family] = []

    def tearDown(self) -> None:
        for family in self.families:
            family.close()

    def family(self, child_argv: list[str], **kwargs: bool) -> Family:
        family = Family(child_argv, **kwargs)
        self.families.append(family)
        return family

    def python_child(self, *flags: str) -> list[str]:
        return [sys.executable, str(HELPER), "child", PY_DIR, str(self.events.path), *flags]

    def ts_child(self, *flags: str) -> list[str]:
        if TS_SKIP:
            self.skipTest(TS_SKIP)
        return ["node", str(CHILD_MJS), TS_JS, str(self.events.path), *flags]

    def assert_exits_after_parent_death(self, family: Family, expect_status: int = 0) -> float:
        killed_at = family.kill_parent()
        status = family.wait_child(LIMIT + 2.0)
        took = time.monotonic() - killed_at
        self.assertIsNotNone(status, f"the child still runs {LIMIT + 2.0} s after its parent was killed")
        assert status is not None
        self.assertLess(took, LIMIT, f"the child exited {took:.2f} s after its parent was killed")
        self.assertTrue(os.WIFEXITED(status), f"the child ended by a signal (wait status {status})")
        self.assertEqual(os.WEXITSTATUS(status), expect_status)
        print(f"[child exited {took:.3f} s after its parent was killed] ", end="", file=sys.stderr, flush=True)
        return took

    # Python

    def test_python_exits_when_parent_killed(self) -> None:
        family = self.family(self.python_child())
        ready = self.events.wait("ready")
        self.assertEqual(ready["parent"], family.parent.pid)
        self.assertEqual(ready["death_signal"], int(signal.SIGURG))
        self.assertEqual(ready["pdeathsig"], int(signal.SIGURG))
        self.assert_exits_after_parent_death(family)
        self.assertIn("parent_died", self.events.names())

    def test_python_polling_alone_exits_within_limit(self) -> None:
        family = self.family(self.python_child("--no-death-signal"))
        ready = self.events.wait("ready")
        self.assertIsNone(ready["death_signal"])
        self.assertEqual(ready["pdeathsig"], 0)
        self.assert_exits_after_parent_death(family)
        self.assertIn("parent_died", self.events.names())

    def test_python_death_signal_while_parent_lives_is_ignored(self) -> None:
        # The thread that starts the child ends while the parent lives: Linux sends the death
        # signal anyway. The child must check, see its parent alive, and stay.
        family = self.family(self.python_child(), from_thread=True)
        self.events.wait("ready")
        got = self.events.wait("signal", timeout=5.0)
        self.assertEqual(got["ppid"], family.parent.pid)
        time.sleep(LIMIT + 0.2)
        self.assertTrue(alive(family.child), "the child exited although its parent lives")
        self.assertNotIn("parent_died", self.events.names())
        self.assert_exits_after_parent_death(family)

    def test_python_forced_exit_when_loop_is_blocked(self) -> None:
        family = self.family(self.python_child("--block"))
        self.events.wait("ready")
        self.assert_exits_after_parent_death(family, expect_status=1)
        self.assertNotIn("parent_died", self.events.names())

    def test_python_closed_watch_no_longer_acts(self) -> None:
        family = self.family(self.python_child("--close"))
        ready = self.events.wait("ready")
        self.assertEqual(ready["pdeathsig"], 0, "close() leaves the death signal set")
        family.kill_parent()
        self.assertIsNone(family.wait_child(LIMIT + 0.5), "a closed watch ended the child")
        self.assertNotIn("parent_died", self.events.names())

    def test_python_parent_gone_before_the_watch_started(self) -> None:
        # An explicit parent PID that is not the parent's: as if it had died during start-up.
        child = subprocess.Popen(self.python_child("--parent-pid", str(os.getpid() + 999_999)))
        try:
            self.assertEqual(child.wait(timeout=LIMIT + 2.0), 0)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        self.assertIn("parent_died", self.events.names())

    # TypeScript

    def test_typescript_exits_when_parent_killed(self) -> None:
        family = self.family(self.ts_child())
        ready = self.events.wait("ready")
        self.assertEqual(ready["parent"], family.parent.pid)
        self.assert_exits_after_parent_death(family)
        self.assertIn("parent_died", self.events.names())

    def test_typescript_closed_watch_no_longer_acts(self) -> None:
        family = self.family(self.ts_child("--close"))
        self.events.wait("ready")
        family.kill_parent()
        self.assertIsNone(family.wait_child(LIMIT + 0.5), "a closed watch ended the child")
        self.assertNotIn("parent_died", self.events.names())

    def test_typescript_parent_gone_before_the_watch_started(self) -> None:
        child = subprocess.Popen(self.ts_child("--parent-pid", str(os.getpid() + 999_999)))
        try:
            self.assertEqual(child.wait(timeout=LIMIT + 2.0), 0)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        self.assertIn("parent_died", self.events.names())


if __name__ == "__main__":
    unittest.main()
