"""The hook's time limit: the review runs in a worker thread that the caller stops waiting for."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from reviewer.errors import BackendTimeout

WORKER_NAME = "localreview-hook-review"


T = TypeVar("T")


def within(seconds: float, deadline: float, work: Callable[[], T]) -> T:
    """``work()``, or ``BackendTimeout`` at ``deadline`` (``time.monotonic()``), the end of the
    hook's ``seconds``: git, imports and planning count against the limit too.

    The work runs in a daemon thread because neither llama.cpp nor a planner refreshing the
    index can be interrupted: on timeout the thread is abandoned and the process is expected to
    exit soon (the CLI exits at once while ``review_in_flight()``)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=target, name=WORKER_NAME, daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise BackendTimeout(
            f"the review did not finish within hook_timeout = {seconds:g} s",
            hint="raise hook_timeout (or --timeout), use a smaller model, or set fail_open = true",
        )
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def review_in_flight() -> bool:
    """True while an abandoned review thread still runs (after a timeout)."""
    return any(t.name == WORKER_NAME and t.is_alive() for t in threading.enumerate())
