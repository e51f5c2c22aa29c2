"""Helpers shared by the test modules (import as `from helpers.util import ...`)."""

from __future__ import annotations

import time
from typing import Any, Callable

WAIT_MS = 15000


def wait_done(client: Any, instance_id: str, timeout_ms: int = WAIT_MS):
    """wait_for_orchestration with the suite's default timeout."""
    return client.wait_for_orchestration(instance_id, timeout_ms)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0,
               interval_s: float = 0.01) -> bool:
    """Polls `predicate` until it is true or `timeout_s` elapses; returns the last result."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval_s)


def raise_until_done(client: Any, instance_id: str, event_name: str, data: Any = None,
                     timeout_s: float = 10.0):
    """Raises `event_name` until the instance ends, and returns its final result.

    External events raised before the orchestration subscribes are dropped (by design), so a
    test cannot know when one raise is enough; raising again after a short wait is safe
    because every extra event lands after the wait resolved and is ignored.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        client.raise_event(instance_id, event_name, data)
        try:
            return client.wait_for_orchestration(instance_id, 200)
        except RuntimeError as exc:
            if "timed out" not in str(exc) or time.monotonic() >= deadline:
                raise
