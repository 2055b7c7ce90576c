{{ c.header -}}
"""Parent watch: the runner ends when the process that started it dies.

An orchestrator that is killed with SIGKILL cannot stop its runners. Without a watch every runner
stays behind as an orphan that still holds its port, and the next orchestrator cannot start a
runner there ("port already in use"). `watch_parent` notices the death of the parent process
within one second and calls back, so that the runner shuts down:

- A daemon thread compares ``os.getppid()`` with the parent's PID, recorded when the watch starts,
  every ``interval`` seconds (0.25 by default). When the parent dies the kernel hands its orphans
  to init or to the nearest "child subreaper", so the value changes. The thread does not depend
  on the event loop, so it notices even while a handler blocks the loop.
- On Linux the watch also sets the parent-death signal (``prctl(PR_SET_PDEATHSIG)``, through
  ctypes) to `PARENT_DEATH_SIGNAL`, which makes the event loop check at once instead of at the
  next poll. The kernel sends that signal when the *thread* that started the runner ends, which
  can happen while the parent process lives on (an orchestrator that starts runners from a pool
  thread). So the signal only triggers a check; it never ends the runner by itself, and the
  runner never exits while its parent lives. The signal's default action is to ignore it, so it
  is harmless once the watch is closed.
- When the parent is gone, ``on_parent_death`` is called once, on the event loop. If the process
  still runs ``exit_after`` seconds later (0.5 by default: a handler that ignores cancellation, a
  shutdown that waits on a dead peer), the watch ends it with ``os._exit(EXIT_STATUS)``.

Where ``prctl`` is not available (other systems, no libc), the watch only polls, and it is a
no-op where there is no parent to watch (a parent PID of 0). The watch writes nothing: once the
parent is gone the runner's stdout and stderr are usually pipes that nobody reads.

The runner must be the direct child of the orchestrator, so a script that starts it must
``exec`` it: a shell left between the two outlives the orchestrator as the runner's parent.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = [
    "DEFAULT_EXIT_AFTER",
    "DEFAULT_INTERVAL",
    "EXIT_STATUS",
    "PARENT_DEATH_SIGNAL",
    "ParentWatch",
    "set_parent_death_signal",
    "watch_parent",
]

DEFAULT_INTERVAL: Final = 0.25
"""Seconds between two checks of the parent PID."""

DEFAULT_EXIT_AFTER: Final = 0.5
"""Seconds the callback gets to end the process before the watch ends it."""

EXIT_STATUS: Final = 1
"""The status the watch ends the process with when the callback did not end it in time."""

PARENT_DEATH_SIGNAL: Final[signal.Signals | None] = getattr(signal, "SIGURG", None)
"""The parent-death signal the watch asks for on Linux. SIGURG: ignored by default, and sent by
the kernel only for out-of-band TCP data on a socket the process owns, which a runner never asks
for."""

_PR_SET_PDEATHSIG: Final = 1


def set_parent_death_signal(signum: int) -> bool:
    """Asks the kernel for ``signum`` when the thread that started this process ends (0: none).

    Returns whether it is set: False where ``prctl`` is not available (not Linux, no libc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return int(prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0


class ParentWatch:
    """A running watch; see `watch_parent`. `close` stops it."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_parent_death: Callable[[], object],
        parent_pid: int,
        interval: float,
        exit_after: float,
    ) -> None:
        self._loop = loop
        self._on_parent_death = on_parent_death
        self._interval = interval
        self._exit_after = exit_after
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._dead = False
        self._called = False
        self._signal_installed = False
        self.parent_pid: Final = parent_pid
        """The PID watched: the parent's when the watch started."""
        self.death_signal: int | None = None
        """The parent-death signal set for this process, or None (polling only)."""
        self.death_signals_received = 0
        """How many death signals arrived (each one only triggers a check)."""
        self._thread = threading.Thread(target=self._poll, name="rrq-runner-parent-watch", daemon=True)

    @property
    def parent_died(self) -> bool:
        """Whether the watch has seen the parent die."""
        return self._dead

    def close(self) -> None:
        """Stops watching and clears the death signal. Idempotent.

        Once the parent has died this does not disarm the exit: the process still ends at most
        ``exit_after`` seconds after the parent's death was noticed.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self.death_signal is not None:
            set_parent_death_signal(0)
        if self._signal_installed and PARENT_DEATH_SIGNAL is not None and not self._loop.is_closed():
            try:
                self._loop.remove_signal_handler(PARENT_DEATH_SIGNAL)
            except (RuntimeError, ValueError):
                pass
        self._wake.set()

    def _start(self, use_death_signal: bool) -> None:
        if use_death_signal and PARENT_DEATH_SIGNAL is not None:
            try:
                self._loop.add_signal_handler(PARENT_DEATH_SIGNAL, self._on_death_signal)
                self._signal_installed = True
            except (NotImplementedError, RuntimeError, ValueError):
                # No signal handling here: not the main thread, or not a Unix event loop.
                pass
            if self._signal_installed:
                if set_parent_death_signal(PARENT_DEATH_SIGNAL):
                    self.death_signal = PARENT_DEATH_SIGNAL
                else:
                    self._loop.remove_signal_handler(PARENT_DEATH_SIGNAL)
                    self._signal_installed = False
        self._thread.start()
        # The parent may have died before the death signal was set: look once now.
        if self._parent_gone():
            self._detected(in_loop=False)

    def _parent_gone(self) -> bool:
        return os.getppid() != self.parent_pid

    def _on_death_signal(self) -> None:
        """On the event loop: a death signal arrived; the parent may still live (see the module)."""
        self.death_signals_received += 1
        if not self._closed and self._parent_gone():
            self._detected(in_loop=True)

    def _detected(self, in_loop: bool) -> None:
        with self._lock:
            if self._dead:
                return
            self._dead = True
        self._wake.set()  # the thread arms the exit
        if in_loop:
            self._call()
            return
        try:
            self._loop.call_soon_threadsafe(self._call)
        except RuntimeError:
            pass  # the loop is closed: the exit below ends the process

    def _call(self) -> None:
        if self._called:
            return
        self._called = True
        self._on_parent_death()

    def _poll(self) -> None:
        while not self._dead:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._dead:
                break
            if self._closed:
                return
            if self._parent_gone():
                self._detected(in_loop=False)
        # The parent is gone: give the callback its time, then end the process.
        time.sleep(self._exit_after)
        os._exit(EXIT_STATUS)


def watch_parent(
    loop: asyncio.AbstractEventLoop,
    on_parent_death: Callable[[], object],
    *,
    parent_pid: int | None = None,
    interval: float = DEFAULT_INTERVAL,
    exit_after: float = DEFAULT_EXIT_AFTER,
    use_death_signal: bool = True,
) -> ParentWatch:
    """Calls ``on_parent_death()`` on ``loop`` soon after the parent process dies; see the module.

    ``parent_pid`` is the PID to watch (default: ``os.getppid()`` now; pass the value read at
    the very start of the program to also catch a parent that died during start-up). Detection
    takes at most ``interval`` seconds (at once on Linux, through the death signal); the process
    ends ``exit_after`` seconds after detection unless the callback ended it first. The death
    signal is only used when ``use_death_signal`` is true, ``loop`` can handle signals (a Unix
    event loop in the main thread) and the system has ``prctl``. Call it from the loop's thread.
    """
    if interval <= 0 or exit_after < 0:
        raise ValueError("interval must be positive and exit_after not negative")
    pid = os.getppid() if parent_pid is None else parent_pid
    watch = ParentWatch(loop, on_parent_death, pid, interval, exit_after)
    if pid > 0:  # else there is no parent to watch
        watch._start(use_death_signal)
    return watch
