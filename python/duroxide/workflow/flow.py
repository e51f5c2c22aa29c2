"""Flow-control values and their argument checks (docs/flow-control.md).

Every check runs before anything is written and raises InvalidArgumentError (a ValueError)
naming the argument, or InvalidTypeError (a TypeError) for a value of the wrong type.
"""
from __future__ import annotations

import dataclasses
import math
import threading
from typing import Any, Dict, Optional, Tuple

from duroxide.errors import InvalidArgumentError, InvalidTypeError

IF_EXISTS_POLICIES = ("fail", "use_existing", "restart_if_ended")


def check_if_exists(value: Any) -> str:
    """The start policy `value` ("fail", "use_existing" or "restart_if_ended")."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"if_exists must be a str, not {type(value).__name__}")
    if value not in IF_EXISTS_POLICIES:
        raise InvalidArgumentError(
            'if_exists must be "fail", "use_existing" or "restart_if_ended", got '
            f"{value!r}")
    return value


PRIORITY_MIN, PRIORITY_MAX = 0, 9


def check_priority(value: Any, what: str = "priority") -> int:
    """A priority 0-9 (higher first). `what` names the call in the message."""
    label = "priority" if what == "priority" else f"{what}: priority"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a JSON number, as the other int parameters accept
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{label} must be an int, not {type(value).__name__}")
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise InvalidArgumentError(
            f"{label} must be between {PRIORITY_MIN} and {PRIORITY_MAX}, got {value}")
    return value


# ---- named limits (docs/flow-control.md) -------------------------------------------------

MAX_LIMIT_NAME_BYTES = 200


def check_limit_name(name: Any, what: str = "name") -> str:
    """A limit name: a non-empty str of at most 200 bytes."""
    if not isinstance(name, str):
        raise InvalidTypeError(f"{what} must be a str, not {type(name).__name__}")
    if not name or len(name.encode()) > MAX_LIMIT_NAME_BYTES:
        raise InvalidArgumentError(
            f"{what} must be a non-empty str of at most {MAX_LIMIT_NAME_BYTES} bytes, "
            f"got {name!r}")
    return name


def check_limit_ref(limit: Any, limit_key: Any, what: str) -> Tuple[Optional[str], str]:
    """The (limit, limit_key) of a task or start: limit None or a name, limit_key None or a str
    (a key without a limit is refused)."""
    if limit is not None:
        check_limit_name(limit, f"{what}: limit")
    if limit_key is not None:
        if not isinstance(limit_key, str):
            raise InvalidTypeError(
                f"{what}: limit_key must be a str, not {type(limit_key).__name__}")
        if limit is None:
            raise InvalidArgumentError(f"{what}: limit_key needs a limit")
    return limit, limit_key or ""


def _positive(value: Any, arg: str, integer: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"Limit: {arg} must be a number, not {type(value).__name__}")
    if integer and not (isinstance(value, int) or float(value).is_integer()):
        raise InvalidArgumentError(f"Limit: {arg} must be a whole number, got {value!r}")
    if not math.isfinite(float(value)) or value <= 0:
        raise InvalidArgumentError(f"Limit: {arg} must be > 0, got {value!r}")
    return int(value) if integer else float(value)


@dataclasses.dataclass(frozen=True)
class Limit:
    """The settings of a named limit.

    concurrency: at most this many tasks of the limit run at once across every runtime on the
    store. rate_per_s: at most this many start per second (a token bucket holding `burst`
    tokens, by default one second of rate and at least 1). per_key: the limit applies to each
    `limit_key` separately. At least one of concurrency and rate_per_s; every value > 0.
    """

    concurrency: Optional[int] = None
    rate_per_s: Optional[float] = None
    burst: Optional[float] = None
    per_key: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "concurrency", _positive(self.concurrency, "concurrency", True))
        object.__setattr__(self, "rate_per_s", _positive(self.rate_per_s, "rate_per_s", False))
        object.__setattr__(self, "burst", _positive(self.burst, "burst", False))
        if self.concurrency is None and self.rate_per_s is None:
            raise InvalidArgumentError(
                "Limit: needs concurrency or rate_per_s (or both); got neither")
        if self.burst is not None and self.rate_per_s is None:
            raise InvalidArgumentError("Limit: burst needs rate_per_s")
        if not isinstance(self.per_key, bool):
            raise InvalidTypeError(
                f"Limit: per_key must be a bool, not {type(self.per_key).__name__}")

    def to_dict(self) -> Dict[str, Any]:
        return {"concurrency": self.concurrency, "rate_per_s": self.rate_per_s,
                "burst": self.burst, "per_key": self.per_key}

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "Limit":
        unknown = sorted(set(raw) - {"concurrency", "rate_per_s", "burst", "per_key"})
        if unknown:
            raise InvalidArgumentError(f"Limit: unknown field(s) {', '.join(unknown)}")
        return cls(**raw)


# Limits given at registration: register_activity(name, limit=...). Process-wide like the
# capability requirements (requirements.py), read when an orchestration schedules the
# activity; a limit given with the call wins.
_activity_limits: Dict[str, str] = {}
_activity_limits_lock = threading.Lock()


def register_activity_limit(name: str, limit: Optional[str]) -> None:
    """Records the limit of activity `name` (None clears it)."""
    with _activity_limits_lock:
        if limit is None:
            _activity_limits.pop(name, None)
        else:
            _activity_limits[name] = check_limit_name(limit, f"register_activity('{name}'): limit")


def limit_fields(name: str, limit: Any, limit_key: Any, what: str) -> Dict[str, str]:
    """The task-descriptor fields naming the limit of a scheduled activity (the call's limit
    wins over the registered one; a key alone applies to the registered limit)."""
    if limit is None:
        with _activity_limits_lock:
            limit = _activity_limits.get(name)
    chosen, key = check_limit_ref(limit, limit_key, what)
    if chosen is None:
        return {}
    out = {"limit": chosen}
    if key:
        out["limitKey"] = key
    return out
