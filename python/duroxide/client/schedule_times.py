"""When a schedule fires: cron and interval occurrences, jitter, and the catch-up rule.

Pure functions over a validated schedule spec (a dict with the ScheduleInfo fields), used by
the client (next fire time at create/update, backfill) and by the runtime's firing loop
(worker/schedules.py). The store never interprets cron text: it keeps what is computed here.

Cron expressions are evaluated by `cronsim` in the schedule's IANA zone (`zoneinfo`): it takes
standard 5-field expressions plus an optional leading seconds field, and follows Debian cron's
daylight-saving rules (a time skipped by the spring-forward change runs right after it, a time
repeated by the fall-back change runs once). docs/schedules.md says why cronsim.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from duroxide.errors import InvalidArgumentError

__all__ = [
    "check_cron", "zone", "occurrence_after", "occurrence_at_or_before", "occurrences_between",
    "jitter_for", "first_fire", "plan_firing", "MAX_BACKFILL",
]

# The most occurrences a backfill may start, and the most a catch-up counts one by one.
MAX_BACKFILL = 10_000
_MAX_COUNT = 100_000


def zone(name: str) -> Any:
    """The tzinfo of an IANA zone name; InvalidArgumentError naming `timezone` otherwise."""
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"timezone: expected an IANA zone name, got {name!r}")
    if name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise InvalidArgumentError(f"timezone: unknown time zone {name!r}") from exc


def check_cron(expr: str) -> None:
    """Raises InvalidArgumentError naming `cron` and what is wrong with `expr`."""
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidArgumentError(f"cron: expected a cron expression, got {expr!r}")
    if len(expr.split()) not in (5, 6):
        raise InvalidArgumentError(
            f"cron: {expr!r} has {len(expr.split())} fields; expected 5 "
            "(minute hour day-of-month month day-of-week) or 6 (seconds first)")
    try:
        it = CronSim(expr, datetime(2000, 1, 1, tzinfo=timezone.utc))
        next(it)
    except CronSimError as exc:
        raise InvalidArgumentError(f"cron: invalid expression {expr!r}: {exc}") from exc
    except StopIteration as exc:
        raise InvalidArgumentError(f"cron: {expr!r} never fires") from exc


def _dt(ms: int, tz: Any) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz)


def _ms(dt: datetime) -> int:
    return int(round(dt.timestamp() * 1000))


def _anchor(spec: Dict[str, Any]) -> int:
    # Interval occurrences are start_at_ms + k * every_ms, or multiples of every_ms since the
    # epoch: every runtime computes the same nominal times (and so the same instance ids).
    start = spec.get("start_at_ms")
    return int(start) if start is not None else 0


def _in_window(spec: Dict[str, Any], ms: Optional[int]) -> Optional[int]:
    end = spec.get("end_at_ms")
    if ms is None or (end is not None and ms >= int(end)):
        return None
    return ms


def occurrence_after(spec: Dict[str, Any], t_ms: int) -> Optional[int]:
    """The first occurrence strictly after t_ms, within [start_at_ms, end_at_ms); or None."""
    start = spec.get("start_at_ms")
    if start is not None and t_ms < int(start):
        t_ms = int(start) - 1
    every = spec.get("every_ms")
    if every:
        anchor = _anchor(spec)
        k = (t_ms - anchor) // every + 1
        return _in_window(spec, anchor + k * every)
    try:
        nxt = next(CronSim(spec["cron"], _dt(t_ms, zone(spec["timezone"]))))
    except StopIteration:
        return None
    return _in_window(spec, _ms(nxt))


def occurrence_at_or_before(spec: Dict[str, Any], t_ms: int) -> Optional[int]:
    """The latest occurrence <= t_ms (not before start_at_ms), or None."""
    end = spec.get("end_at_ms")
    if end is not None and t_ms >= int(end):
        t_ms = int(end) - 1
    every = spec.get("every_ms")
    if every:
        anchor = _anchor(spec)
        out = anchor + ((t_ms - anchor) // every) * every
    else:
        dt = _dt(t_ms, zone(spec["timezone"]))
        if dt.microsecond == 0:  # cronsim's reverse walk includes a start with microseconds
            dt = dt.replace(microsecond=1)
        try:
            out = _ms(next(CronSim(spec["cron"], dt, reverse=True)))
        except StopIteration:
            return None
    start = spec.get("start_at_ms")
    return None if start is not None and out < int(start) else out


def occurrences_between(spec: Dict[str, Any], start_ms: int, end_ms: int,
                        limit: int = _MAX_COUNT) -> List[int]:
    """Occurrences in [start_ms, end_ms), oldest first, at most `limit`."""
    out: List[int] = []
    t = occurrence_after(spec, start_ms - 1)
    while t is not None and t < end_ms and len(out) < limit:
        out.append(t)
        t = occurrence_after(spec, t)
    return out


def _count_between(spec: Dict[str, Any], start_ms: int, end_ms: int) -> int:
    every = spec.get("every_ms")
    if every:
        first = occurrence_after(spec, start_ms - 1)
        if first is None or first >= end_ms:
            return 0
        return (end_ms - 1 - first) // int(every) + 1
    return len(occurrences_between(spec, start_ms, end_ms))


def jitter_for(schedule_id: str, fire_ms: int, jitter_ms: int) -> int:
    """A delay in [0, jitter_ms] that depends only on the occurrence (stable across runtimes)."""
    if jitter_ms <= 0:
        return 0
    digest = hashlib.sha256(f"{schedule_id}@{fire_ms}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (jitter_ms + 1)


def _due(spec: Dict[str, Any], fire_ms: Optional[int]) -> Optional[int]:
    if fire_ms is None:
        return None
    return fire_ms + jitter_for(spec["schedule_id"], fire_ms, int(spec.get("jitter_ms") or 0))


def first_fire(spec: Dict[str, Any], now_ms: int) -> Tuple[Optional[int], Optional[int]]:
    """(next_fire_ms, next_due_ms) of a schedule (re)armed at now_ms: the first occurrence at
    or after now; (None, None) when paused or past end_at_ms."""
    if spec.get("paused"):
        return None, None
    fire = occurrence_after(spec, now_ms - 1)
    return fire, _due(spec, fire)


def plan_firing(spec: Dict[str, Any], now_ms: int) -> Optional[Dict[str, Any]]:
    """The firing request for a due row (see FireRequest, schedule_store.h), or None.

    Catch-up: of the occurrences from next_fire_ms up to now, only the latest can start, and
    only if its due time is within catchup_window_ms of now; every other one is counted
    missed. So a runtime coming back after downtime starts at most one run per schedule,
    never a burst.
    """
    fire = spec.get("next_fire_ms")
    if fire is None:
        return None
    latest = occurrence_at_or_before(spec, now_ms)
    if latest is None or latest < fire:
        latest = fire
    missed = _count_between(spec, fire, latest)
    occurrences: List[int] = [latest]
    due = _due(spec, latest)
    if due is not None and now_ms - due > int(spec.get("catchup_window_ms") or 0):
        occurrences = []
        missed += 1
    nxt = occurrence_after(spec, latest)
    return {
        "schedule_id": spec["schedule_id"],
        "advance": True,
        "expected_next_fire_ms": fire,
        "new_next_fire_ms": nxt,
        "new_next_due_ms": _due(spec, nxt),
        "occurrences": occurrences,
        "missed": missed,
    }


def utc_text(ms: Optional[int]) -> str:
    """`ms` as an ISO-8601 UTC time ('-' for None), for tables and logs."""
    if ms is None:
        return "-"
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)).isoformat(
        timespec="seconds").replace("+00:00", "Z")
