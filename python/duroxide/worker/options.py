"""Runtime configuration: RuntimeOptions and the worker tag filter (TagFilter)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from duroxide._common import MAX_TAG_NAME_BYTES, MAX_WORKER_TAGS, loads_or
from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.worker.capabilities import make_matcher, merge_capabilities


class TagFilter:
    """Which tagged activities a runtime's workers accept (values are plain strings)."""

    DEFAULT_ONLY = "default_only"
    ANY = "any"
    NONE = "none"

    @staticmethod
    def tags(tags: List[str]) -> str:
        """Only activities tagged with one of `tags`."""
        return json.dumps({"tags": list(tags)})

    @staticmethod
    def default_and(tags: List[str]) -> str:
        """Untagged activities plus those tagged with one of `tags`."""
        return json.dumps({"default_and": list(tags)})


def _parse_tag_filter(value: Any) -> Dict[str, Any]:
    if value is None:
        return {"tag_mode": "default_only", "tags": []}
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"worker_tag_filter must be a str (see TagFilter), not {type(value).__name__}")
    if value in (TagFilter.DEFAULT_ONLY, TagFilter.ANY, TagFilter.NONE):
        return {"tag_mode": value, "tags": []}
    parsed = loads_or(value, None)
    if isinstance(parsed, dict) and len(parsed) == 1:
        (mode, tags), = parsed.items()
        if mode in ("tags", "default_and") and isinstance(tags, list) and all(
            isinstance(t, str) for t in tags
        ):
            if len(tags) > MAX_WORKER_TAGS:
                raise InvalidArgumentError(
                    f"worker_tag_filter lists {len(tags)} tags; "
                    f"at most {MAX_WORKER_TAGS} are allowed"
                )
            for tag in tags:
                if len(tag.encode()) > MAX_TAG_NAME_BYTES:
                    raise InvalidArgumentError(
                        f"worker_tag_filter tag {tag[:20]!r}... exceeds {MAX_TAG_NAME_BYTES} bytes"
                    )
            return {"tag_mode": mode, "tags": tags}
    raise InvalidArgumentError(
        f"invalid worker_tag_filter {value!r}: use TagFilter.DEFAULT_ONLY, ANY, NONE, "
        "TagFilter.tags([...]) or TagFilter.default_and([...])"
    )


class RuntimeOptions:
    """Runtime configuration. Every argument is optional; None means the default."""

    _FIELDS = (
        "orchestration_concurrency", "worker_concurrency", "dispatcher_poll_interval_ms",
        "worker_lock_timeout_ms", "log_format", "log_level", "service_name", "service_version",
        "max_sessions_per_runtime", "session_idle_timeout_ms", "worker_node_id",
        "worker_tag_filter",
    )
    _EXTRA = ("orchestrator_lock_timeout_ms", "max_attempts", "warm_cache_capacity",
              "max_payload_bytes", "max_history_events",
              # worker registry (docs/deployment.md)
              "heartbeat_interval_ms", "worker_name_hint", "worker_retention_ms",
              "drain_grace_ms", "session_placement",
              # capability routing (docs/task-graphs.md)
              "capabilities",
              # same-process activity hand-off (docs/performance.md)
              "activity_handoff", "gil_batching",
              # async def activities (docs/async.md)
              "async_activity_concurrency", "async_loop_stall_ms",
              # park instead of fail (docs/operations.md)
              "on_orchestration_failure",
              # durable schedules (docs/schedules.md)
              "schedules_enabled", "schedule_poll_interval_ms")
    _INT_FIELDS = {
        "orchestration_concurrency": 0, "worker_concurrency": 0, "dispatcher_poll_interval_ms": 1,
        "worker_lock_timeout_ms": 100, "max_sessions_per_runtime": 1,
        "session_idle_timeout_ms": 1, "orchestrator_lock_timeout_ms": 100, "max_attempts": 1,
        "warm_cache_capacity": 0, "max_payload_bytes": 0, "max_history_events": 0,
        "heartbeat_interval_ms": 0, "worker_retention_ms": 0, "drain_grace_ms": 0,
        "async_activity_concurrency": 1, "async_loop_stall_ms": 1,
        "schedule_poll_interval_ms": 1,
    }

    def __init__(self, orchestration_concurrency: Optional[int] = None,
                 worker_concurrency: Optional[int] = None,
                 dispatcher_poll_interval_ms: Optional[int] = None,
                 worker_lock_timeout_ms: Optional[int] = None,
                 log_format: Optional[str] = None, log_level: Optional[str] = None,
                 service_name: Optional[str] = None, service_version: Optional[str] = None,
                 max_sessions_per_runtime: Optional[int] = None,
                 session_idle_timeout_ms: Optional[int] = None,
                 worker_node_id: Optional[str] = None,
                 worker_tag_filter: Optional[str] = None, *,
                 orchestrator_lock_timeout_ms: Optional[int] = None,
                 max_attempts: Optional[int] = None,
                 warm_cache_capacity: Optional[int] = None,
                 max_payload_bytes: Optional[int] = None,
                 max_history_events: Optional[int] = None,
                 heartbeat_interval_ms: Optional[int] = None,
                 worker_name_hint: Optional[str] = None,
                 worker_retention_ms: Optional[int] = None,
                 drain_grace_ms: Optional[int] = None,
                 session_placement: Optional[bool] = None,
                 capabilities: Optional[Dict[str, Any]] = None,
                 activity_handoff: Optional[bool] = None,
                 gil_batching: Optional[bool] = None,
                 async_activity_concurrency: Optional[int] = None,
                 async_loop_stall_ms: Optional[int] = None,
                 on_orchestration_failure: Optional[str] = None,
                 schedules_enabled: Optional[bool] = None,
                 schedule_poll_interval_ms: Optional[int] = None):
        values = dict(locals())
        values.pop("self")
        # Capability routing: detected defaults merged with the given ones (the merged dict is
        # what `options.capabilities` returns and what the workers match schemas against).
        values["capabilities"] = merge_capabilities(capabilities)
        for name, minimum in self._INT_FIELDS.items():
            v = values[name]
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < minimum):
                raise InvalidArgumentError(
                    f"RuntimeOptions.{name} must be an int >= {minimum}, got {v!r}")
        if session_placement is not None and not isinstance(session_placement, bool):
            raise InvalidTypeError("RuntimeOptions.session_placement must be a bool")
        for name in ("activity_handoff", "gil_batching", "schedules_enabled"):
            if values[name] is not None and not isinstance(values[name], bool):
                raise InvalidTypeError(f"RuntimeOptions.{name} must be a bool")
        for name in ("log_format", "log_level", "service_name", "service_version",
                     "worker_node_id", "worker_name_hint"):
            v = values[name]
            if v is not None and not isinstance(v, str):
                raise InvalidTypeError(
                    f"RuntimeOptions.{name} must be a str, not {type(v).__name__}")
        if log_level is not None and log_level.lower() not in (
            "trace", "debug", "info", "warn", "warning", "error", "off"
        ):
            raise InvalidArgumentError(f"RuntimeOptions.log_level: unknown level {log_level!r}")
        if on_orchestration_failure is not None and \
                on_orchestration_failure not in ("fail", "suspend"):
            raise InvalidArgumentError("RuntimeOptions.on_orchestration_failure must be 'fail' or "
                                       f"'suspend', got {on_orchestration_failure!r}")
        self._tag = _parse_tag_filter(worker_tag_filter)
        if values["schedules_enabled"] is None:
            values["schedules_enabled"] = True  # this runtime fires the store's schedules
        if values["schedule_poll_interval_ms"] is None:
            # The schedule loop's fallback poll (worker/schedules.py): it sleeps until the next
            # due time or a change, and looks anyway after this long.
            values["schedule_poll_interval_ms"] = 2000
        if values["heartbeat_interval_ms"] is None:
            values["heartbeat_interval_ms"] = 5000  # 0 disables the worker registry
        self._values = values

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._FIELDS or name in self._EXTRA:
            raise AttributeError(f"RuntimeOptions.{name} is read-only")
        object.__setattr__(self, name, value)

    def _to_native(self) -> Dict[str, Any]:
        out = {k: v for k, v in self._values.items()
               if v is not None and k not in ("worker_tag_filter", "capabilities",
                                              "on_orchestration_failure",
                                              "schedule_poll_interval_ms")}
        out["suspend_on_failure"] = self._values["on_orchestration_failure"] == "suspend"
        out.update(self._tag)
        out["capability_matcher"] = make_matcher(self._values["capabilities"])
        return out
