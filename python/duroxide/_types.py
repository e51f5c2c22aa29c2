"""Plain value types of the public API: results, options, tag filters."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Literal, Optional, cast

from duroxide._json import loads_or_raw
from duroxide.errors import InvalidArgumentError, InvalidTypeError, TaskFailedError

MAX_WORKER_TAGS = 5
MAX_TAG_NAME_BYTES = 256
MAX_KV_KEYS = 150
MAX_KV_VALUE_BYTES = 65536
# Limits on user input (docs/reliability.md, "Limits"); the core enforces the same values.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024  # default RuntimeOptions/Client max_payload_bytes
MAX_HISTORY_EVENTS = 50000  # default RuntimeOptions.max_history_events
MAX_INSTANCE_ID_BYTES = 256  # also: no control characters
MAX_NAME_BYTES = 256  # orchestration, activity, event and queue names


# The statuses a client sees (OrchestrationResult.status).
OrchestrationStatusName = Literal["NotFound", "Running", "Completed", "Failed"]


class OrchestrationResult:
    """Status of an orchestration instance as seen by a client.

    Attributes:
        status: "NotFound", "Running", "Completed" or "Failed".
        output: the orchestration's return value (parsed JSON) when Completed, else None.
        error: the error text when Failed, else None.
        custom_status: the last custom status string, or None.
        custom_status_version: increases each time a turn changes the custom status.
    """

    def __init__(self, status: OrchestrationStatusName, output: Any = None,
                 error: Optional[str] = None,
                 custom_status: Optional[str] = None, custom_status_version: int = 0):
        self.status: OrchestrationStatusName = status
        self.output = output
        self.error = error
        self.custom_status = custom_status
        self.custom_status_version = custom_status_version


def _parse_status(raw: Any) -> OrchestrationResult:
    status = cast(OrchestrationStatusName, raw.status)
    return OrchestrationResult(status, loads_or_raw(raw.output), raw.error, raw.custom_status,
                               raw.custom_status_version)


def parse_result(result: Any) -> Any:
    """Unwraps ok/err items: a list of {"ok": v} gives [v, ...]; {"err": e} raises.

    Raises:
        TaskFailedError: for an {"err": e} item (str() is e; a DuroxideError and Exception).
    """
    if isinstance(result, list):
        return [parse_result(item) if _is_item(item) else item for item in result]
    if _is_item(result):
        if "err" in result:
            err = result["err"]
            raise TaskFailedError(err if isinstance(err, str) else json.dumps(err))
        return result["ok"]
    return result


def _is_item(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and ("ok" in value or "err" in value)


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
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
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
              "activity_handoff", "gil_batching")
    _INT_FIELDS = {
        "orchestration_concurrency": 0, "worker_concurrency": 0, "dispatcher_poll_interval_ms": 1,
        "worker_lock_timeout_ms": 100, "max_sessions_per_runtime": 1,
        "session_idle_timeout_ms": 1, "orchestrator_lock_timeout_ms": 100, "max_attempts": 1,
        "warm_cache_capacity": 0, "max_payload_bytes": 0, "max_history_events": 0,
        "heartbeat_interval_ms": 0, "worker_retention_ms": 0, "drain_grace_ms": 0,
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
                 gil_batching: Optional[bool] = None):
        values = dict(locals())
        values.pop("self")
        # Capability routing: detected defaults merged with the given ones (the merged dict is
        # what `options.capabilities` returns and what the workers match schemas against).
        from duroxide._capabilities import merge_capabilities

        values["capabilities"] = merge_capabilities(capabilities)
        for name, minimum in self._INT_FIELDS.items():
            v = values[name]
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < minimum):
                raise InvalidArgumentError(
                    f"RuntimeOptions.{name} must be an int >= {minimum}, got {v!r}")
        if session_placement is not None and not isinstance(session_placement, bool):
            raise InvalidTypeError("RuntimeOptions.session_placement must be a bool")
        for name in ("activity_handoff", "gil_batching"):
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
        self._tag = _parse_tag_filter(worker_tag_filter)
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
               if v is not None and k not in ("worker_tag_filter", "capabilities")}
        out.update(self._tag)
        from duroxide._capabilities import make_matcher

        out["capability_matcher"] = make_matcher(self._values["capabilities"])
        return out
