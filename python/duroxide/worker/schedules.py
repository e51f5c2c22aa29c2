"""The runtime's schedule firing loop (docs/schedules.md).

One thread per runtime with `RuntimeOptions(schedules_enabled=True)`. Each pass reads the
rows due at the runtime's clock (`_core.now_ms()`, the clock seam time skipping moves),
computes each firing in Python (cron times, catch-up, jitter: schedule_times.py) and hands it
to one native firing transaction (`_core.schedule_fire`, GIL released) that claims the row,
starts the occurrence with its deterministic instance id and advances next_fire_ms, or does
nothing if another runtime got there first (compare-and-set on next_fire_ms; SKIP LOCKED on
PostgreSQL). Then it sleeps until the next row is due or the schedules change:

- a change made through this process's store handle (create, update, pause, resume, trigger,
  backfill, delete) moves the store's change signal at commit (ScheduleStore::changes());
- on PostgreSQL a change made by another process arrives as a notification on the schema's
  channel (kind 'c'), which the provider's listener turns into the same signal;
- a jump of the virtual clock (time skipping) moves it too.

So an idle runtime with no schedule due reads the schedules table once per `fallback_ms`
(RuntimeOptions.schedule_poll_interval_ms, 2 s by default), not once per dispatcher poll
interval. The fallback poll stays because a wake-up can be missed: a notification sent while
the listener was reconnecting, or a SQLite store shared by several processes (SQLite has no
cross-process notification). While a buffered occurrence waits for its previous run to
finish, the loop polls at the short `poll_ms`, as nothing announces that finish.

Why the loop is in Python: the cron and time-zone arithmetic is Python (cronsim + zoneinfo),
and a firing is one short native call, so the loop never holds the GIL while it waits on the
store. The core only learns that schedules are enabled, so that time skipping counts a due
schedule as pending work and jumps to the next fire time.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Optional

from duroxide import _core
from duroxide._providers import is_transient
from duroxide.client.schedule_times import plan_firing
from duroxide.errors import NotFoundError

__all__ = ["ScheduleLoop"]

_log = logging.getLogger("duroxide.schedules")

_BATCH = 256  # due rows read per pass


class ScheduleLoop:
    """Fires the schedules of one store; counters in `metrics` (firings, missed, skips)."""

    def __init__(self, handle: Any, poll_ms: int, fallback_ms: int) -> None:
        self._handle = handle
        self._poll_s = max(1, poll_ms) / 1000.0
        self._fallback_s = max(poll_ms, fallback_ms) / 1000.0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._metrics: Dict[str, int] = self.zero_metrics()

    @staticmethod
    def zero_metrics() -> Dict[str, int]:
        """The counters of a runtime that fires no schedules."""
        return {"schedule_firings": 0, "schedule_missed": 0, "schedule_overlap_skips": 0,
                "schedule_errors": 0, "schedule_passes": 0}

    @property
    def metrics(self) -> Dict[str, int]:
        """A copy of the counters."""
        with self._lock:
            return dict(self._metrics)

    def start(self) -> None:
        """Starts the loop thread (a daemon: shutdown() stops and joins it)."""
        self._thread = threading.Thread(target=self._run, name="duroxide-schedules",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stops the loop; a firing in progress finishes (it is one transaction)."""
        self._stop.set()
        _core.schedule_wake(self._handle)  # the loop sleeps in the native wait
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _count(self, name: str, n: int) -> None:
        if n:
            with self._lock:
                self._metrics[name] += n

    def _run(self) -> None:
        while not self._stop.is_set():
            # Taken before the pass: a change committed during it cuts the sleep short.
            seen = _core.schedule_changes_seq(self._handle)
            try:
                wait_s = self.run_once()
            except Exception as e:  # noqa: BLE001 - the store may be briefly unavailable
                if is_transient(e):  # one line, like the dispatchers' fetch errors
                    _log.warning("schedule firing pass failed: %s", e)
                else:
                    _log.exception("schedule firing pass failed")
                self._count("schedule_errors", 1)
                wait_s = self._poll_s
            if self._stop.is_set():
                break
            if wait_s > 0:
                _core.schedule_wait_change(self._handle, seen, int(wait_s * 1000))

    def run_once(self) -> float:
        """Fires every due row once; returns how long to sleep (seconds)."""
        self._count("schedule_passes", 1)
        now = int(_core.now_ms())
        rows = list(_core.schedule_due(self._handle, now, _BATCH))
        for row in rows:
            if self._stop.is_set():
                return 0.0
            self._fire(dict(row), now)
        if len(rows) >= _BATCH:
            return 0.0
        nxt, buffered_waiting = _core.schedule_next_wake(self._handle, int(_core.now_ms()))
        cap = self._poll_s if buffered_waiting else self._fallback_s
        if nxt is None:
            return cap
        # A row still due after this pass fired rows is being fired by another runtime (or
        # cannot be computed): look again after the short poll rather than spin.
        floor_ms = self._poll_s * 1000 if rows else 0
        return min(cap, max(floor_ms, int(nxt) - int(_core.now_ms())) / 1000.0)

    def _fire(self, row: Dict[str, Any], now: int) -> None:
        due = row.get("next_due_ms")
        if due is not None and due <= now:
            try:
                plan = plan_firing(row, now)
            except Exception:  # noqa: BLE001 - e.g. a time zone the system no longer has
                _log.exception("cannot compute the firing of schedule %r", row["schedule_id"])
                self._count("schedule_errors", 1)
                return
        else:  # a buffered occurrence whose previous run has finished
            plan = {"schedule_id": row["schedule_id"], "advance": False, "occurrences": []}
        if plan is None:
            return
        try:
            out = _core.schedule_fire(self._handle, plan)
        except NotFoundError:
            return  # deleted meanwhile
        if not out["applied"]:
            return  # another runtime fired it (or it changed): nothing to count
        self._count("schedule_firings", len(out["started"]))
        self._count("schedule_missed", int(out["missed"]))
        self._count("schedule_overlap_skips", int(out["skipped"]))
