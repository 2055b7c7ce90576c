"""The conformance suite's handlers on RRQ's own Python runner (`rrq-runner` of the `rrq` wheel).

The handler contract of docs/CONFORMANCE.md, for the upstream runners the suite measures as
peers: `echo` (v1 `{"args", "kwargs"}`, v2 `{"params"}`), `sleep` (`seconds`, cancellable),
`fail` (raises with `message`, a default when absent) and `retry` (asks for a retry after
`seconds`). Works with both wheels: 0.9.x requests carry `args`/`kwargs` (protocol "1"), 0.10+
`params` (protocol "2"). Started by `upstream.sh` as `rrq-runner --settings
upstream_handlers.settings` with this folder on PYTHONPATH.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rrq.exc import RetryJob
from rrq.registry import Registry
from rrq.runner_settings import PythonRunnerSettings

DEFAULT_FAIL_MESSAGE = "the fail handler was called without a message"
RETRY_MESSAGE = "the retry handler asks to be retried"


class ExampleError(Exception):
    pass


def _named(request: Any) -> dict[str, Any]:
    return dict(request.params) if hasattr(request, "params") else dict(request.kwargs)


async def echo(request: Any) -> dict[str, Any]:
    if hasattr(request, "params"):
        return {"params": request.params}
    return {"args": request.args, "kwargs": request.kwargs}


async def sleep(request: Any) -> dict[str, Any]:
    seconds = _named(request).get("seconds", 0)
    await asyncio.sleep(float(seconds))
    return {"slept": seconds}


async def fail(request: Any) -> None:
    raise ExampleError(str(_named(request).get("message", DEFAULT_FAIL_MESSAGE)))


async def retry(request: Any) -> None:
    raise RetryJob(RETRY_MESSAGE, defer_seconds=_named(request).get("seconds"))


registry = Registry()
registry.register("echo", echo)
registry.register("sleep", sleep)
registry.register("fail", fail)
registry.register("retry", retry)
settings = PythonRunnerSettings(registry=registry)
