"""Example handlers for the generated Python runner (`rrq_runner`).

The four handlers every example runner registers (see DESIGN.md, "Examples contract"):

- ``echo``  returns ``{"args": args, "kwargs": kwargs}``;
- ``sleep`` sleeps ``kwargs["seconds"]`` (cancellable) and returns ``{"slept": seconds}``;
- ``fail``  raises :class:`ExampleError` with ``kwargs["message"]`` (a default when absent);
- ``retry`` asks for a retry after ``kwargs["seconds"]``.

Start a runner with them (it listens on ``RRQ_RUNNER_TCP_SOCKET``)::

    examples/python/run.sh
    # which runs: python -m rrq_runner --handlers handlers:registry
"""

from __future__ import annotations

import asyncio
from typing import Any

from rrq_runner import ExecutionRequest, Registry, RetryError

#: The message ``fail`` raises with when the request has no ``message`` keyword argument.
DEFAULT_FAIL_MESSAGE = "the fail handler was called without a message"
#: The message of the ``retry`` outcome.
RETRY_MESSAGE = "the retry handler asks to be retried"


class ExampleError(Exception):
    """Raised by ``fail``; the runner reports its class name as the error type."""


async def echo(request: ExecutionRequest) -> dict[str, Any]:
    """Returns the request's arguments unchanged."""
    return {"args": request.args, "kwargs": request.kwargs}


async def sleep(request: ExecutionRequest) -> dict[str, Any]:
    """Sleeps ``kwargs["seconds"]``; a cancel or the deadline interrupts it."""
    seconds = request.kwargs.get("seconds", 0)
    await asyncio.sleep(float(seconds))
    return {"slept": seconds}


def fail(request: ExecutionRequest) -> None:
    """Always fails, with ``kwargs["message"]`` when given."""
    message = request.kwargs.get("message", DEFAULT_FAIL_MESSAGE)
    raise ExampleError(str(message))


def retry(request: ExecutionRequest) -> None:
    """Asks for the job to be retried after ``kwargs["seconds"]``."""
    raise RetryError(RETRY_MESSAGE, retry_after_seconds=request.kwargs.get("seconds"))


registry = Registry()
registry.register("echo", echo)
registry.register("sleep", sleep)
registry.register("fail", fail)
registry.register("retry", retry)
