"""Example handlers for the generated Python runner (`rrq_runner`), one registry per protocol
version (`registry_v1` for RRQ 0.9.x, `registry_v2` for RRQ 0.10 onward).

The four handlers every example runner registers (see DESIGN.md, "Examples contract"):

- ``echo``  returns v1 ``{"args": args, "kwargs": kwargs}``, v2 ``{"params": params}``;
- ``sleep`` sleeps ``seconds`` (from kwargs / params; cancellable) and returns ``{"slept": seconds}``;
- ``fail``  raises :class:`ExampleError` with ``message`` (a default when absent);
- ``retry`` asks for a retry after ``seconds``.

Start a runner with them (it listens on ``--tcp-socket`` or ``RRQ_RUNNER_TCP_SOCKET``)::

    examples/python/run.sh --protocol 1     # python -m rrq_runner --handlers handlers:registry_v1
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rrq_runner import RetryError, v1, v2

#: The message ``fail`` raises with when the request has no ``message``.
DEFAULT_FAIL_MESSAGE = "the fail handler was called without a message"
#: The message of the ``retry`` outcome.
RETRY_MESSAGE = "the retry handler asks to be retried"


class ExampleError(Exception):
    """Raised by ``fail``; the runner reports its class name as the error type."""


def handlers(named: Callable[[Any], dict[str, Any]]) -> dict[str, Callable[[Any], Any]]:
    """``sleep``, ``fail`` and ``retry``, reading their options with `named` (the request's
    named inputs: v1 ``kwargs``, v2 ``params``)."""

    async def sleep(request: Any) -> dict[str, Any]:
        """Sleeps ``seconds``; a cancel or the deadline interrupts it."""
        seconds = named(request).get("seconds", 0)
        await asyncio.sleep(float(seconds))
        return {"slept": seconds}

    def fail(request: Any) -> None:
        """Always fails, with ``message`` when given."""
        raise ExampleError(str(named(request).get("message", DEFAULT_FAIL_MESSAGE)))

    def retry(request: Any) -> None:
        """Asks for the job to be retried after ``seconds``."""
        raise RetryError(RETRY_MESSAGE, retry_after_seconds=named(request).get("seconds"))

    return {"sleep": sleep, "fail": fail, "retry": retry}


async def echo_v1(request: v1.ExecutionRequest) -> dict[str, Any]:
    """Returns the request's arguments unchanged."""
    return {"args": request.args, "kwargs": request.kwargs}


async def echo_v2(request: v2.ExecutionRequest) -> dict[str, Any]:
    """Returns the request's parameters unchanged."""
    return {"params": request.params}


registry_v1 = v1.Registry()
registry_v1.register("echo", echo_v1)
registry_v2 = v2.Registry()
registry_v2.register("echo", echo_v2)
for name, handler in handlers(lambda request: request.kwargs).items():
    registry_v1.register(name, handler)
for name, handler in handlers(lambda request: request.params).items():
    registry_v2.register(name, handler)

#: The registry of the latest protocol version.
registry = registry_v2
