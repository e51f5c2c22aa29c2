"""Capability routing: what a worker offers and what an activity requires.

A runtime advertises capabilities (a JSON object: detected defaults `os`, `arch`, `cpus`,
`memory_mb`, `python`, `hostname`, overridden by `RuntimeOptions(capabilities={...})`). An
activity requires capabilities with a JSON Schema (draft 2020-12), given at registration
(`register_activity(name, requires=schema)`) or per call (`ctx.schedule_activity(name, input,
requires=schema)`, which wins). The store keeps each distinct schema once, keyed by its hash,
and a worker claims only rows whose schema its capabilities satisfy (docs/task-graphs.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import sys
import threading
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from duroxide.errors import InvalidArgumentError, InvalidTypeError

Schema = Mapping[str, Any]

# Requirements declared at registration, by activity name (process-wide: the orchestration
# that schedules an activity may run in another runtime of this process than the worker).
_registered: Dict[str, Tuple[str, str, Optional[int]]] = {}
_registered_lock = threading.Lock()


def _memory_mb() -> int:
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return int(pages * size // (1024 * 1024))
    except (ValueError, OSError, AttributeError):
        return 0


def detect_capabilities() -> Dict[str, Any]:
    """The capabilities every runtime starts from (its host's facts)."""
    return {
        "os": platform.system().lower(),
        "arch": platform.machine().lower(),
        "cpus": os.cpu_count() or 1,
        "memory_mb": _memory_mb(),
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "hostname": socket.gethostname(),
    }


def merge_capabilities(overrides: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Detected defaults with `overrides` on top; checks that the result is a JSON object."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidTypeError(
            f"RuntimeOptions.capabilities must be a dict, not {type(overrides).__name__}")
    merged = detect_capabilities()
    for key, value in (overrides or {}).items():
        if not isinstance(key, str):
            raise InvalidTypeError(f"RuntimeOptions.capabilities keys must be str, got {key!r}")
        merged[key] = value
    try:
        json.dumps(merged)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"RuntimeOptions.capabilities must be JSON-serializable ({exc})") from None
    return merged


def _validator_class() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator


def canonical_schema(schema: Any, what: str) -> Tuple[str, str]:
    """Validates `schema` (draft 2020-12) and returns (canonical JSON text, hash).

    Raises:
        InvalidArgumentError: the schema is not a valid JSON Schema; the message is the
            validator's.
    """
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except ValueError as exc:
            raise InvalidArgumentError(f"{what}: requires is not valid JSON ({exc})") from None
    if not isinstance(schema, (Mapping, bool)):
        raise InvalidArgumentError(
            f"{what}: requires must be a JSON Schema (a dict), not {type(schema).__name__}")
    from jsonschema.exceptions import SchemaError

    try:
        _validator_class().check_schema(schema)
    except SchemaError as exc:
        raise InvalidArgumentError(f"{what}: invalid requires schema: {exc.message}") from None
    try:
        text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{what}: requires is not JSON-serializable ({exc})") from None
    return text, hashlib.sha256(text.encode()).hexdigest()[:32]


def check_timeout(value: Any, what: str) -> Optional[int]:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgumentError(
            f"{what}: requires_timeout_ms must be an int >= 1, got {value!r}")
    return value


def register_requirement(name: str, schema: Any, timeout_ms: Any) -> None:
    """Records the requirement of activity `name` (None clears it)."""
    what = f"register_activity('{name}')"
    timeout = check_timeout(timeout_ms, what)
    with _registered_lock:
        if schema is None:
            _registered.pop(name, None)
            return
        text, digest = canonical_schema(schema, what)
        _registered[name] = (text, digest, timeout)


def routing_fields(name: str, requires: Any, requires_timeout_ms: Any,
                   what: str) -> Dict[str, Any]:
    """The task-descriptor fields for a call: the per-call schema wins over the registered one."""
    timeout = check_timeout(requires_timeout_ms, what)
    if requires is not None:
        text, digest = canonical_schema(requires, what)
    else:
        with _registered_lock:
            reg = _registered.get(name)
        if reg is None:
            if timeout is not None:
                raise InvalidArgumentError(f"{what}: requires_timeout_ms needs a requires schema")
            return {}
        text, digest, reg_timeout = reg
        timeout = timeout if timeout is not None else reg_timeout
    out: Dict[str, Any] = {"requires": text, "requiresHash": digest}
    if timeout is not None:
        out["requiresTimeoutMs"] = timeout
    return out


def make_matcher(capabilities: Mapping[str, Any]) -> Callable[[str], bool]:
    """A callable (canonical schema text -> bool) for the native workers."""
    caps = dict(capabilities)

    def matches(schema_text: str) -> bool:
        try:
            schema = json.loads(schema_text)
            return bool(_validator_class()(schema).is_valid(caps))
        except Exception:  # noqa: BLE001 - a schema we cannot evaluate is not satisfied
            return False

    return matches
