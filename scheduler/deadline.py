"""When a solve must stop: its wall-clock deadline, or a stop request from the caller.

Every phase of ``solve()`` (warm start, bound, search) asks :meth:`Stopper.done` between its
steps, and long calls into a solver register a hook (``CpSolver.stop_search``, GLOP's
interrupt) that a watcher thread calls as soon as the caller asks to stop, so a cancelled
solve returns within a fraction of a second at any size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

StopRequest = Callable[[], bool] | threading.Event
"""What a caller passes as ``should_stop``: a callable (asked from a watcher thread too, so it
must be thread-safe and quick) or a ``threading.Event``."""

POLL_SECONDS = 0.05
"""How often the watcher thread asks ``should_stop``."""


class Stopper:
    """The deadline of one solve and its caller's stop request."""

    def __init__(self, deadline: float, should_stop: StopRequest | None = None) -> None:
        self.deadline = deadline
        if isinstance(should_stop, threading.Event):
            self._ask: Callable[[], bool] | None = should_stop.is_set
        else:
            self._ask = should_stop
        self.cancelled = False
        self.cut: list[str] = []
        """Phases that the deadline or the stop request cut short, in order, each once."""
        self._hooks: list[Callable[[], object]] = []
        self._lock = threading.Lock()
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None

    def requested(self) -> bool:
        """Return True once the caller has asked the solve to stop."""
        if not self.cancelled and self._ask is not None and self._ask():
            self._cancel()
        return self.cancelled

    def done(self) -> bool:
        """Return True if the solve must stop now: cancelled, or past its deadline."""
        return self.requested() or time.perf_counter() >= self.deadline

    def left(self) -> float:
        """Seconds left before the deadline (0 once cancelled)."""
        return 0.0 if self.requested() else max(0.0, self.deadline - time.perf_counter())

    def note_cut(self, phase: str) -> None:
        if phase not in self.cut:
            self.cut.append(phase)

    @contextmanager
    def hook(self, stop: Callable[[], object]) -> Iterator[None]:
        """Call ``stop`` (from the watcher thread) if the caller asks to stop meanwhile."""
        with self._lock:
            if self.cancelled:
                stop()
            self._hooks.append(stop)
        try:
            yield
        finally:
            with self._lock:
                self._hooks.remove(stop)

    def _cancel(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.cancelled = True
            hooks = list(self._hooks)
        for stop in hooks:
            stop()

    def __enter__(self) -> Stopper:
        if self._ask is not None:
            self._thread = threading.Thread(target=self._watch, name="solve-stop", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._quit.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        while not self._quit.wait(POLL_SECONDS):
            if self.requested():
                # Again at every poll: a solver that started just after the request was seen
                # may not have heard its hook.
                with self._lock:
                    hooks = list(self._hooks)
                for stop in hooks:
                    stop()
