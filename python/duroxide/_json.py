"""The one JSON helper of the package: payloads cross the native boundary as JSON text.

`loads_or_raw` is the value-shape contract of the duroxide Python API (api.md 1.2): text that
is JSON becomes the value, anything else (and a str that is not JSON) stays the raw string.
`dumps_value` is json.dumps with an error that names the offending type and the call.
"""

from __future__ import annotations

import json
from typing import Any, Optional


def loads_or_raw(text: Optional[str]) -> Any:
    """json.loads(text), or `text` itself when it is not JSON (None stays None)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def dumps_value(value: Any, what: str) -> str:
    """json.dumps(value); TypeError "<what>: value of type T is not JSON-serializable (...)"."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what}: value of type {type(value).__name__} is not JSON-serializable ({exc})"
        ) from None
