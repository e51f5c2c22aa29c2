"""What an activity requires of the worker that runs it: a JSON Schema (draft 2020-12).

A requirement is given at registration (`register_activity(name, requires=schema)`, recorded
here process-wide) or per call (`ctx.schedule_activity(name, input, requires=schema)`, which
wins). The store keeps each distinct schema once, keyed by its hash, and a worker claims only
rows whose schema its capabilities satisfy (docs/task-graphs.md). What a worker offers is
duroxide.worker.capabilities.
"""

from __future__ import annotations

import hashlib
import json
import threading
from types import ModuleType
from typing import Any, Dict, Mapping, Optional, Tuple

from duroxide._common import canonical_json
from duroxide.errors import InvalidArgumentError

Schema = Mapping[str, Any]

# Requirements declared at registration, by activity name (process-wide: the orchestration
# that schedules an activity may run in another runtime of this process than the worker).
_registered: Dict[str, Tuple[str, str, Optional[int]]] = {}
_registered_lock = threading.Lock()


def _jsonschema() -> ModuleType:
    """jsonschema, imported on first use (a documented lazy load): it takes 70-200 ms to import
    and only programs that declare requirements need it."""
    import jsonschema

    return jsonschema


def validator_class() -> Any:
    """jsonschema's draft 2020-12 validator class."""
    return _jsonschema().Draft202012Validator


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
    jsonschema = _jsonschema()
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidArgumentError(f"{what}: invalid requires schema: {exc.message}") from None
    try:
        text = canonical_json(schema)
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
