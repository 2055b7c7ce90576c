"""Raw asyncio echo runner: the ceiling of a Python runner for ./bench.sh.

Framing (4-byte big-endian length + JSON) and plain `json` parse/serialize, nothing else: no
validation, no canonical encoding, no per-request task, no deadlines or cancellation. It answers
every `request` frame with `{"type":"response","payload":{job_id, request_id, "success",
result: {"args", "kwargs"}}}` on RRQ_RUNNER_TCP_SOCKET. Bench code, not a usable runner.
"""

import asyncio
import json
import os
import signal

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            header = await reader.readexactly(4)
            body = await reader.readexactly(int.from_bytes(header, "big"))
            payload = _loads(body)["payload"]
            out = _dumps(
                {
                    "type": "response",
                    "payload": {
                        "job_id": payload["job_id"],
                        "request_id": payload["request_id"],
                        "status": "success",
                        "result": {"args": payload["args"], "kwargs": payload["kwargs"]},
                    },
                }
            ).encode()
            writer.write(len(out).to_bytes(4, "big") + out)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main() -> None:
    host, _, port = os.environ["RRQ_RUNNER_TCP_SOCKET"].rpartition(":")
    server = await asyncio.start_server(_serve, host, int(port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_main())
