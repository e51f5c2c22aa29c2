"""Durable schedules, client side: ScheduleInfo, argument checks, and the operations on a store.

`ScheduleStoreOps` is what `Client` (native.py) calls: every check runs before anything is
written, the times come from schedule_times.py, and each store call is one native operation
(bind_schedules.cc) with the GIL released. `HttpClient` reaches the same code through the
server. docs/schedules.md describes the semantics.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Optional

from duroxide import _core
from duroxide._common import dumps_value, loads_or, loads_or_raw
from duroxide.client.schedule_times import (
    MAX_BACKFILL,
    check_cron,
    first_fire,
    occurrences_between,
    zone,
)
from duroxide.errors import InvalidArgumentError, InvalidTypeError, NotFoundError

__all__ = ["ScheduleInfo", "ScheduleStoreOps", "OVERLAP_POLICIES", "SCHEDULE_FIELDS",
           "check_schedule", "MIN_EVERY_MS"]

OVERLAP_POLICIES = ("skip", "buffer_one", "allow_all", "cancel_other")
MIN_EVERY_MS = 1000
# An instance id is at most 256 bytes; "@" and 13 digits of fire time follow the schedule id.
MAX_SCHEDULE_ID_BYTES = 240
# The options of create_schedule / update_schedule / Registry.schedule, with their defaults.
SCHEDULE_FIELDS: Dict[str, Any] = {
    "input": None, "cron": None, "every_ms": None, "version": None, "timezone": "UTC",
    "overlap": "skip", "catchup_window_ms": 60_000, "jitter_ms": 0, "start_at_ms": None,
    "end_at_ms": None, "paused": False, "note": None,
}
# Fields whose change re-arms the next fire time.
_TIMING = ("cron", "every_ms", "timezone", "jitter_ms", "start_at_ms", "end_at_ms", "paused")


@dataclasses.dataclass
class ScheduleInfo:
    """A schedule as stored: its definition and its firing state (times in epoch ms).

    recent_instances lists the latest runs' instance ids, newest first (at most 10);
    fired/missed/skipped_count count runs started, occurrences missed by catch-up and
    occurrences skipped by the overlap policy; buffered_fire_ms is the occurrence a buffer_one
    schedule keeps waiting for the running one to end.
    """

    schedule_id: str
    orchestration: str
    version: Optional[str] = None
    input: Any = None
    cron: Optional[str] = None
    every_ms: Optional[int] = None
    timezone: str = "UTC"
    overlap: str = "skip"
    paused: bool = False
    note: Optional[str] = None
    next_fire_ms: Optional[int] = None
    last_fire_ms: Optional[int] = None
    recent_instances: List[str] = dataclasses.field(default_factory=list)
    created_at_ms: Optional[int] = None
    updated_at_ms: Optional[int] = None
    catchup_window_ms: int = 60_000
    jitter_ms: int = 0
    start_at_ms: Optional[int] = None
    end_at_ms: Optional[int] = None
    fired_count: int = 0
    missed_count: int = 0
    skipped_count: int = 0
    buffered_fire_ms: Optional[int] = None  # buffer_one: the occurrence waiting to start

    @classmethod
    def from_record(cls, raw: Dict[str, Any]) -> "ScheduleInfo":
        """From a native record (bind_schedules.cc): input and recent_instances are JSON text."""
        fields = dict(raw)
        fields["input"] = loads_or_raw(raw.get("input"))
        fields["recent_instances"] = loads_or(raw.get("recent_instances"), [])
        fields["paused"] = bool(raw.get("paused"))
        return cls.from_dict(fields)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ScheduleInfo":
        """From to_dict()'s output (the REST representation); unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> Dict[str, Any]:
        """Every field, JSON-ready."""
        return dataclasses.asdict(self)


def _opt_int(spec: Dict[str, Any], name: str, minimum: int) -> None:
    value = spec.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentError(f"{name}: expected an int, got {value!r}")
    if value < minimum:
        raise InvalidArgumentError(f"{name}: must be >= {minimum}, got {value}")


def _opt_str(spec: Dict[str, Any], name: str) -> None:
    value = spec.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidArgumentError(f"{name}: expected a non-empty str or None, got {value!r}")


def check_schedule_id(schedule_id: Any) -> str:
    """The id itself; InvalidArgumentError / InvalidTypeError naming schedule_id otherwise."""
    if not isinstance(schedule_id, str):
        raise InvalidTypeError(f"schedule_id must be a str, not {type(schedule_id).__name__}")
    if not schedule_id:
        raise InvalidArgumentError("schedule_id must not be empty")
    if len(schedule_id.encode()) > MAX_SCHEDULE_ID_BYTES:
        raise InvalidArgumentError(
            f"schedule_id is longer than {MAX_SCHEDULE_ID_BYTES} bytes (its runs are named "
            "<schedule_id>@<fire_ms>, at most 256 bytes)")
    if any(ord(c) < 32 or ord(c) == 127 for c in schedule_id):
        raise InvalidArgumentError("schedule_id must not contain control characters")
    return schedule_id


def check_schedule(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Validates a full schedule spec (ids, SCHEDULE_FIELDS with `input` as a Python value);
    raises InvalidArgumentError naming the first bad field. Returns the spec."""
    check_schedule_id(spec.get("schedule_id"))
    orch = spec.get("orchestration")
    if not isinstance(orch, str) or not orch:
        raise InvalidArgumentError(f"orchestration: expected a non-empty str, got {orch!r}")
    cron, every = spec.get("cron"), spec.get("every_ms")
    if (cron is None) == (every is None):
        raise InvalidArgumentError(
            "cron/every_ms: give exactly one of cron (a cron expression) or every_ms "
            f"(got cron={cron!r}, every_ms={every!r})")
    if cron is not None:
        check_cron(cron)
    _opt_int(spec, "every_ms", MIN_EVERY_MS)
    _opt_str(spec, "version")
    zone(str(spec.get("timezone")) if spec.get("timezone") is not None else "")
    if spec.get("overlap") not in OVERLAP_POLICIES:
        raise InvalidArgumentError(
            f"overlap: unknown policy {spec.get('overlap')!r}; expected one of "
            + ", ".join(OVERLAP_POLICIES))
    for name in ("catchup_window_ms", "jitter_ms", "start_at_ms", "end_at_ms"):
        _opt_int(spec, name, 0)
    for name in ("catchup_window_ms", "jitter_ms"):
        if spec.get(name) is None:
            raise InvalidArgumentError(f"{name}: expected an int >= 0, got None")
    start, end = spec.get("start_at_ms"), spec.get("end_at_ms")
    if start is not None and end is not None and end <= start:
        raise InvalidArgumentError(
            f"end_at_ms: must be after start_at_ms (start_at_ms={start}, end_at_ms={end})")
    if not isinstance(spec.get("paused"), bool):
        raise InvalidArgumentError(f"paused: expected a bool, got {spec.get('paused')!r}")
    note = spec.get("note")
    if note is not None and not isinstance(note, str):
        raise InvalidArgumentError(f"note: expected a str or None, got {note!r}")
    dumps_value(spec.get("input"), "create_schedule input")
    return spec


def _record(spec: Dict[str, Any], now_ms: int, rearm: bool,
            old: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    rec = {k: spec.get(k) for k in ("schedule_id", "orchestration", *SCHEDULE_FIELDS)}
    rec["input"] = json.dumps(spec.get("input"))
    if rearm or old is None:
        rec["next_fire_ms"], rec["next_due_ms"] = first_fire(spec, now_ms)
    else:
        rec["next_fire_ms"], rec["next_due_ms"] = old["next_fire_ms"], old["next_due_ms"]
    return rec


def _spec_of(raw: Dict[str, Any]) -> Dict[str, Any]:
    spec = {k: raw.get(k) for k in ("schedule_id", "orchestration", *SCHEDULE_FIELDS)}
    spec["input"] = loads_or_raw(raw.get("input"))
    spec["paused"] = bool(raw.get("paused"))
    return spec


class ScheduleStoreOps:
    """The schedule operations over a provider's native handle (see Client)."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def _raw(self, schedule_id: str) -> Dict[str, Any]:
        check_schedule_id(schedule_id)
        raw = _core.schedule_get(self._handle, schedule_id)
        if raw is None:
            raise NotFoundError(f"schedule {schedule_id!r} not found")
        return dict(raw)

    def create(self, spec: Dict[str, Any]) -> ScheduleInfo:
        check_schedule(spec)
        _core.schedule_create(self._handle, _record(spec, int(_core.now_ms()), True))
        return self.get(spec["schedule_id"])

    def get(self, schedule_id: str) -> ScheduleInfo:
        return ScheduleInfo.from_record(self._raw(schedule_id))

    def list(self) -> List[ScheduleInfo]:
        return [ScheduleInfo.from_record(r) for r in _core.schedule_list(self._handle)]

    def update(self, schedule_id: str, fields: Dict[str, Any]) -> ScheduleInfo:
        unknown = sorted(set(fields) - set(SCHEDULE_FIELDS) - {"orchestration"})
        if unknown:
            raise InvalidArgumentError(
                f"update_schedule: unknown field(s) {', '.join(unknown)}; expected some of "
                + ", ".join(["orchestration", *SCHEDULE_FIELDS]))
        old = self._raw(schedule_id)
        spec = _spec_of(old)
        # Switching between cron and every_ms: giving one clears the other.
        if fields.get("cron") is not None and "every_ms" not in fields:
            spec["every_ms"] = None
        if fields.get("every_ms") is not None and "cron" not in fields:
            spec["cron"] = None
        spec.update(fields)
        check_schedule(spec)
        rearm = any(spec.get(k) != _spec_of(old).get(k) for k in _TIMING)
        rearm = rearm or (not spec["paused"] and old.get("next_fire_ms") is None)
        _core.schedule_update(self._handle, _record(spec, int(_core.now_ms()), rearm, old))
        return self.get(schedule_id)

    def delete(self, schedule_id: str) -> None:
        check_schedule_id(schedule_id)
        _core.schedule_delete(self._handle, schedule_id)

    def trigger(self, schedule_id: str) -> str:
        self._raw(schedule_id)
        out = _core.schedule_fire(self._handle, {
            "schedule_id": schedule_id, "advance": False,
            "occurrences": [int(_core.now_ms())], "overlap": "allow_all"})
        return str(out["started"][-1])

    def backfill(self, schedule_id: str, start_ms: int, end_ms: int) -> List[str]:
        for name, value in (("start_ms", start_ms), ("end_ms", end_ms)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidArgumentError(f"{name}: expected an int >= 0, got {value!r}")
        if end_ms <= start_ms:
            raise InvalidArgumentError(
                f"end_ms: must be after start_ms (start_ms={start_ms}, end_ms={end_ms})")
        spec = _spec_of(self._raw(schedule_id))
        times = occurrences_between(spec, start_ms, end_ms, MAX_BACKFILL + 1)
        if len(times) > MAX_BACKFILL:
            raise InvalidArgumentError(
                f"end_ms: the window holds more than {MAX_BACKFILL} occurrences; backfill it "
                "in parts")
        if not times:
            return []
        out = _core.schedule_fire(self._handle, {
            "schedule_id": schedule_id, "advance": False, "occurrences": times})
        ids = [str(i) for i in out["started"]]
        if out.get("buffered"):
            ids.append(str(out["buffered"]))
        return ids

    def upsert(self, spec: Dict[str, Any], given: Any) -> Optional[ScheduleInfo]:
        """Creates the declared schedule, or updates the options that differ from the
        declaration (`paused` only if the declaration gave it); returns the stored schedule,
        or None when nothing had to change."""
        from duroxide.errors import ScheduleAlreadyExistsError

        try:
            old = _spec_of(self._raw(spec["schedule_id"]))
        except NotFoundError:
            try:
                return self.create(spec)
            except ScheduleAlreadyExistsError:  # another runtime created it just now
                old = _spec_of(self._raw(spec["schedule_id"]))
        fields = [k for k in ("orchestration", *SCHEDULE_FIELDS)
                  if k != "paused" or "paused" in given]
        changed = {k: spec.get(k) for k in fields if spec.get(k) != old.get(k)}
        if not changed:
            return None
        return self.update(spec["schedule_id"], changed)


def unserved_schedules(workers: List[Any], schedules: List[ScheduleInfo]) -> List[Dict[str, Any]]:
    """The active schedules whose orchestration (and version, when pinned) no live worker with
    orchestration slots serves, each with the reason: their runs would only queue up
    (`duroxide doctor`)."""
    runners = [w for w in workers
               if w.live and w.capacity.get("orchestration_slots", 1) > 0]
    out = []
    for s in schedules:
        if s.paused or s.next_fire_ms is None:
            continue
        if any(w.serves_orchestration(s.orchestration, s.version) for w in runners):
            continue
        what = (f"version {s.version} of orchestration '{s.orchestration}'" if s.version
                else f"orchestration '{s.orchestration}'")
        reason = ("no live worker runs orchestrations" if not runners
                  else f"{what} is not registered on any live worker")
        out.append({"schedule_id": s.schedule_id, "orchestration": s.orchestration,
                    "version": s.version, "next_fire_ms": s.next_fire_ms, "reason": reason})
    return out
