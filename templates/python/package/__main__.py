{{ c.header -}}
"""``python -m {{ c.package }} --handlers MODULE:ATTR [--tcp-socket HOST:PORT] [--verbose]``: serves a
`Registry` speaking the registry's protocol version (a registry of ``{{ c.package }}.v1`` speaks
protocol "1", ...)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any

from ._runtime import DEFAULT_MAX_IN_FLIGHT, Registry, serve

ENV_TCP_SOCKET = "{{ c.env_tcp_socket }}"


def _load_registry(spec: str) -> Registry[Any]:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"{{ c.distribution }}: --handlers expects MODULE:ATTR, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    registry = getattr(module, attr, None)
    if not isinstance(registry, Registry) or not hasattr(registry, "binding"):
        raise SystemExit(
            f"{{ c.distribution }}: {spec} is {type(registry).__name__}, expected a Registry of a protocol"
            " version module (e.g. {{ c.package }}.Registry)"
        )
    return registry


def main(argv: list[str] | None = None) -> int:
    # Read first: a parent that dies while the handlers module imports is still noticed.
    parent_pid = os.getppid()
    parser = argparse.ArgumentParser(
        prog="python -m {{ c.package }}",
        description="Run an RRQ runner: serve the handlers of a Registry over loopback TCP.",
    )
    parser.add_argument(
        "--handlers",
        required=True,
        metavar="MODULE:ATTR",
        help="the Registry to serve, e.g. myapp.handlers:registry (MODULE is imported from the current directory too)",
    )
    parser.add_argument(
        "--tcp-socket",
        metavar="HOST:PORT",
        default=None,
        help=f"loopback address to listen on (default: ${ENV_TCP_SOCKET})",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=DEFAULT_MAX_IN_FLIGHT,
        metavar="N",
        help=f"requests in flight per connection before answering busy (default {DEFAULT_MAX_IN_FLIGHT})",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print the listening line on standard error (the RRQ orchestrator logs runner output as warnings)",
    )
    args = parser.parse_args(argv)
    address = args.tcp_socket or os.environ.get(ENV_TCP_SOCKET)
    if not address:
        parser.error(f"no address: pass --tcp-socket HOST:PORT or set {ENV_TCP_SOCKET}")
    registry = _load_registry(args.handlers)
    try:
        serve(registry, address, max_in_flight=args.max_in_flight, verbose=args.verbose, parent_pid=parent_pid)
    except (ValueError, OSError) as exc:
        print(f"{{ c.distribution }}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
