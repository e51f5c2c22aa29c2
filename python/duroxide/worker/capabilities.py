"""What a worker offers: its capabilities (a JSON object) and the matcher the native workers
use to test them against an activity's requirement schema (duroxide.workflow.requirements).

A runtime advertises detected defaults `os`, `arch`, `cpus`, `memory_mb`, `python`,
`hostname`, overridden by `RuntimeOptions(capabilities={...})`.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
from typing import Any, Callable, Dict, Mapping, Optional

from duroxide.errors import InvalidTypeError
from duroxide.workflow.requirements import validator_class


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


def make_matcher(capabilities: Mapping[str, Any]) -> Callable[[str], bool]:
    """A callable (canonical schema text -> bool) for the native workers."""
    caps = dict(capabilities)

    def matches(schema_text: str) -> bool:
        try:
            schema = json.loads(schema_text)
            return bool(validator_class()(schema).is_valid(caps))
        except Exception:  # noqa: BLE001 - a schema we cannot evaluate is not satisfied
            return False

    return matches
