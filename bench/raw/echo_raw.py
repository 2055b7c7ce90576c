"""Raw asyncio echo runner: the floor of a Python runner for ./bench.sh.

The fastest plain implementation: an `asyncio.Protocol` on the transport (no streams, no
coroutine per read), framing (4-byte big-endian length + JSON) and plain `json` parse/serialize,
nothing else: no validation, no canonical encoding, no per-request task, no deadlines or
cancellation. Every complete `request` frame in a read is answered inline, the answers of one
read written with one `transport.write`: `{"type":"response","payload":{job_id, request_id,
"success", result}}` with result `{"args", "kwargs"}` (protocol 1) or `{"params"}` (protocol 2,
whichever the request carries). Listens on `--tcp-socket HOST:PORT` (RRQ 0.10+) or
RRQ_RUNNER_TCP_SOCKET (RRQ 0.9). Bench code, not a usable runner.
"""

import asyncio
import json
import os
import signal
import sys

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


def _answer(body: bytes) -> bytes:
    message = _loads(body)
    if message.get("type") != "request":
        return b""
    payload = message["payload"]
    if "params" in payload:
        result = {"params": payload["params"]}
    else:
        result = {"args": payload["args"], "kwargs": payload["kwargs"]}
    out = _dumps(
        {
            "type": "response",
            "payload": {
                "job_id": payload["job_id"],
                "request_id": payload["request_id"],
                "status": "success",
                "result": result,
            },
        }
    ).encode()
    return len(out).to_bytes(4, "big") + out


class _Echo(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        at = 0
        out = []
        end = len(buffer)
        while end - at >= 4:
            length = int.from_bytes(buffer[at:at + 4], "big")
            if end - at - 4 < length:
                break
            out.append(_answer(buffer[at + 4:at + 4 + length]))
            at += 4 + length
        self.buffer = buffer[at:]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _address() -> str:
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--tcp-socket" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--tcp-socket="):
            return arg.split("=", 1)[1]
    return os.environ["RRQ_RUNNER_TCP_SOCKET"]


async def _main() -> None:
    host, _, port = _address().rpartition(":")
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, host, int(port))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_main())
