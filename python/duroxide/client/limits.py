"""Named limits, client side: Limit, LimitInfo, argument checks, and the store operations.

A limit is stored in the store (`limits` table) and enforced fleet-wide at claim time
(cpp/duroxide/providers/limit_store.h); docs/flow-control.md describes the semantics. Every
check here runs before anything is written and raises InvalidArgumentError (a ValueError)
naming the argument, or InvalidTypeError (a TypeError) for a value of the wrong type.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Tuple

from duroxide import _core
from duroxide.errors import InvalidTypeError, NotFoundError
from duroxide.workflow.flow import Limit, check_limit_name, check_limit_ref

__all__ = ["Limit", "LimitInfo", "LimitStoreOps", "check_limit", "check_limit_name",
           "check_limit_ref"]


@dataclasses.dataclass
class LimitInfo:
    """A limit as stored with its load: tasks of the limit now running (in_flight) and queued
    (waiting), and when per_key the busiest keys as (key, in_flight, waiting), most in flight
    first (at most 10). burst is the effective bucket size when rate_per_s is set."""

    name: str
    concurrency: Optional[int] = None
    rate_per_s: Optional[float] = None
    burst: Optional[float] = None
    per_key: bool = False
    in_flight: int = 0
    waiting: int = 0
    top_keys: List[Tuple[str, int, int]] = dataclasses.field(default_factory=list)
    created_at_ms: int = 0
    updated_at_ms: int = 0

    @property
    def limit(self) -> Limit:
        return Limit(self.concurrency, self.rate_per_s, self.burst, self.per_key)

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["top_keys"] = [list(k) for k in self.top_keys]
        return d

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "LimitInfo":
        fields = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in raw.items() if k in fields}
        d["top_keys"] = [(str(k[0]), int(k[1]), int(k[2])) for k in raw.get("top_keys") or []]
        return cls(**d)


def check_limit(limit: Any) -> Limit:
    if isinstance(limit, dict):
        return Limit.from_dict(limit)
    if not isinstance(limit, Limit):
        raise InvalidTypeError(
            f"limit must be a duroxide.Limit, not {type(limit).__name__}")
    return limit


class LimitStoreOps:
    """The limit operations over a provider's native handle (see Client)."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def set(self, name: str, limit: Any) -> None:
        check_limit_name(name)
        spec = check_limit(limit)
        _core.limit_set(self._handle, name, spec.concurrency, spec.rate_per_s, spec.burst,
                        spec.per_key)

    def get(self, name: str) -> LimitInfo:
        check_limit_name(name)
        raw = _core.limit_get(self._handle, name)
        if raw is None:
            raise NotFoundError(f"limit {name!r} not found")
        return LimitInfo.from_dict(dict(raw))

    def list(self) -> List[LimitInfo]:
        return [LimitInfo.from_dict(dict(r)) for r in _core.limit_list(self._handle)]

    def delete(self, name: str) -> None:
        check_limit_name(name)
        _core.limit_delete(self._handle, name)

    def waiting(self, min_wait_ms: int, max_rows: int) -> List[Dict[str, Any]]:
        return [dict(r) for r in _core.limit_waiting(self._handle, min_wait_ms, max_rows)]
