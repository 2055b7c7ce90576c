"""`python -m rrq_runner`: help, address handling, bind refusal, SIGTERM with jobs in flight."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import CONTEXT_FIELD, CORPUS, DEADLINE, FUNCTION, MODULE, PACKAGE_DIR, REQUEST_ID, frame_of
from rrq_proto import (
    ErrorType,
    OutcomeStatus,
    Request,
    Response,
    decode_frame,
    decode_message,
    encode_frame,
)

HANDLERS = textwrap.dedent(
    f"""
    import asyncio
    from {MODULE} import Registry

    registry = Registry()

    @registry.register("sleep")
    async def sleep(request):
        await asyncio.sleep(60)

    @registry.register("block")
    def block(request):
        import time
        time.sleep(60)
    """
)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PACKAGE_DIR)}


def start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    (tmp_path / "handlers_mod.py").write_text(HANDLERS)
    return subprocess.Popen(
        [sys.executable, "-m", "rrq_runner", "--handlers", "handlers_mod:registry", "--verbose", *args],
        cwd=tmp_path, env=env(), stderr=subprocess.PIPE, text=True,
    )


def listening(proc: subprocess.Popen[str]) -> tuple[str, int]:
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.fullmatch(r"rrq-runner listening on (\S+):(\d+)\n", line)
    assert match, line
    return match.group(1), int(match.group(2))


def read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "closed early"
        data += chunk
    return data


def test_help() -> None:
    out = subprocess.run([sys.executable, "-m", "rrq_runner", "--help"], env=env(), capture_output=True, text=True)
    assert out.returncode == 0 and "--handlers" in out.stdout and "--tcp-socket" in out.stdout


def test_refuses_non_loopback(tmp_path: Path) -> None:
    proc = start(tmp_path, "--tcp-socket", "0.0.0.0:0")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "loopback" in err


def test_sigterm_answers_in_flight_requests_and_exits_0(tmp_path: Path) -> None:
    template = next(m.payload for m in (decode_frame(frame_of(c)) for c in CORPUS if c["verdict"] == "accept")
                    if isinstance(m, Request))
    (tmp_path / "handlers_mod.py").write_text(HANDLERS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rrq_runner", "--handlers", "handlers_mod:registry", "--verbose"],
        cwd=tmp_path, env={**env(), "RRQ_RUNNER_TCP_SOCKET": "127.0.0.1:0"}, stderr=subprocess.PIPE, text=True,
    )
    try:
        host, port = listening(proc)
        probe = socket.create_connection((host, port))  # readiness probe: connect, close
        probe.close()
        sock = socket.create_connection((host, port))
        ids = ["r-async", "r-sync", "r-async-2"]
        for request_id, function in zip(ids, ["sleep", "block", "sleep"]):
            import dataclasses

            context = dataclasses.replace(getattr(template, CONTEXT_FIELD), **{DEADLINE: None})
            req = dataclasses.replace(template, **{REQUEST_ID: request_id, FUNCTION: function, CONTEXT_FIELD: context})
            sock.sendall(encode_frame(Request(req)))
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        seen = {}
        sock.settimeout(20)
        for _ in ids:
            length = int.from_bytes(read_exactly(sock, 4), "big")
            message = decode_message(read_exactly(sock, length))
            assert isinstance(message, Response)
            seen[message.payload.request_id] = message.payload  # the outcome's request id
        assert set(seen) == set(ids)
        for outcome in seen.values():
            assert outcome.status == OutcomeStatus.ERROR
            assert outcome.error is not None and outcome.error.type == ErrorType.CANCELLED
            assert "shutting down" in outcome.error.message
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
