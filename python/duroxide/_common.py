"""What every layer of the package shares: the JSON value contract, name checks, ids in URL
paths, the retry policy validator, the documented limits and the version.

Payloads cross the native boundary as JSON text. `loads_or_raw` is the value-shape contract of
the duroxide Python API (api.md 1.2): text that is JSON becomes the value, anything else (and a
str that is not JSON) stays as it is. `dumps_value` is json.dumps with an error that names the
offending type and the call. This module imports nothing of the package but `errors` and the
native module, so any module may import it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Dict, Optional

from duroxide import _core
from duroxide.errors import InvalidArgumentError, InvalidTypeError

__version__ = "0.1.0"

# json.dumps(value, allow_nan=False) with one shared encoder: json.dumps builds a new
# JSONEncoder on every call that passes an option, a cost paid per task and per result on the
# replay path. Same output and exceptions; encode() keeps no state between calls.
strict_dumps = json.JSONEncoder(allow_nan=False).encode

# Limits on user input (docs/reliability.md, "Limits"); the core enforces the same values.
MAX_WORKER_TAGS = 5
MAX_TAG_NAME_BYTES = 256
MAX_KV_KEYS = 150
MAX_KV_VALUE_BYTES = 65536
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024  # default RuntimeOptions/Client max_payload_bytes
MAX_HISTORY_EVENTS = 50000  # default RuntimeOptions.max_history_events
MAX_INSTANCE_ID_BYTES = 256  # also: no control or invisible characters (check_text)
MAX_NAME_BYTES = 256  # orchestration, activity, event and queue names
# The line before a failed activity's traceback inside an orchestration's error text (written by
# duroxide.workflow.generator.failure_text, read by duroxide.worker.tracebacks.root_cause_first).
ACTIVITY_TRACEBACK_NOTE = "The failed activity's traceback (root cause first):"
ORCHESTRATION_TRACEBACK_NOTE = "The orchestration did not catch the activity's failure:"


# ---- JSON ---------------------------------------------------------------------------------


def loads_or(text: Any, default: Any) -> Any:
    """json.loads(text), or `default` when text is None or not JSON text."""
    if text is None:
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def canonical_json(value: Any) -> str:
    """The one canonical text of a JSON value (sorted keys, no spaces): what hashes are taken
    of (capability schemas, task-cache keys). Raises TypeError/ValueError if not JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def loads_or_raw(text: Any) -> Any:
    """json.loads(text), or `text` itself when it is not JSON text (None stays None)."""
    return loads_or(text, text)


def dumps_value(value: Any, what: str) -> str:
    """json.dumps(value), strict: NaN, Infinity and -Infinity are not JSON, so they raise
    InvalidArgumentError naming `what` and where in the value they were ("$.a[2]"); a value
    of a type JSON cannot hold raises TypeError "<what>: value of type T is not
    JSON-serializable (...)"."""
    try:
        return strict_dumps(value)
    except ValueError as exc:
        where = non_finite_path(value)
        if where is not None:
            raise InvalidArgumentError(
                f"{what}: {where[1]} at {where[0]} is not valid JSON (NaN, Infinity and "
                f"-Infinity are refused; send null or a string instead)") from None
        raise TypeError(
            f"{what}: value of type {type(value).__name__} is not JSON-serializable ({exc})"
        ) from None
    except TypeError as exc:
        raise TypeError(
            f"{what}: value of type {type(value).__name__} is not JSON-serializable ({exc})"
        ) from None


def non_finite_path(value: Any, path: str = "$", depth: int = 0) -> Optional[tuple[str, str]]:
    """(path, text) of the first NaN/Infinity float inside `value` ("$", "$.a", "$[3]"), or
    None. Only called after json.dumps refused the value, so cycles were already reported."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, repr(value).replace("inf", "Infinity").replace("nan", "NaN")
    if depth > 200:
        return None
    if isinstance(value, dict):
        items: Any = ((f"{path}.{k}", v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub, item in items:
        found = non_finite_path(item, sub, depth + 1)
        if found is not None:
            return found
    return None


def check_json(value: Any, what: str) -> Any:
    """`value` itself once it is known to serialize (the errors of dumps_value otherwise)."""
    dumps_value(value, what)
    return value


# ---- names --------------------------------------------------------------------------------

# Ids and names must be printable text (docs/reliability.md, "Ids and names"): every code
# point str.isprintable() refuses is refused -- C0/C1 controls and DEL, U+2028/U+2029, lone
# surrogates (which cannot even be encoded), invisible format characters (zero-width space,
# direction marks and overrides, BOM, ...), private-use and unassigned code points and
# noncharacters, and spaces other than U+0020 (NBSP and friends look like a space but are not
# one) -- except ZWNJ/ZWJ (U+200C/U+200D), which emoji sequences and several scripts need.
# The core enforces the subset it can decide without Unicode tables (controls, separators,
# invisible format characters, noncharacters, invalid UTF-8: limits::IsForbiddenCodePoint)
# for whatever reaches it without passing here.
_JOINERS = frozenset("\u200c\u200d")


def _first_unprintable(value: str) -> int:
    """The index of the first character an id may not contain, or -1."""
    if value.isprintable():
        return -1
    for index, ch in enumerate(value):
        if not ch.isprintable() and ch != " " and ch not in _JOINERS:
            return index
    return -1


def check_text(value: Any, what: str, *, allow_empty: bool = False) -> str:
    """`value` when it is a valid id or name: a non-empty str without the forbidden code points
    above. InvalidTypeError (naming `what`) for a non-str such as bytes or an int,
    InvalidArgumentError for an empty one (unless `allow_empty`: the caller leaves emptiness
    and length to the core, whose messages name the limit) or a forbidden character."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value and not allow_empty:
        raise InvalidArgumentError(f"{what} must not be empty")
    bad = _first_unprintable(value)
    if bad >= 0:
        raise InvalidArgumentError(
            f"{what} contains a control character or other non-printable character "
            f"(U+{ord(value[bad]):04X} at index {bad}); controls, line and paragraph "
            f"separators, surrogates, invisible format characters, unassigned code points "
            f"and spaces other than U+0020 are not allowed")
    return value


def check_name(value: Any, what: str) -> str:
    """Ids, queue, topic and operation names: see check_text."""
    return check_text(value, what)


# ---- ids in URL paths ---------------------------------------------------------------------

# An id (instance id, KV key, queue, topic or worker name) in a REST path is one segment in
# which every byte outside these characters is written ~XX (two hex digits of its UTF-8 byte).
# No `%`, `/`, `?` or `#` ever appears, so proxies that decode %2F or normalize paths pass it
# through unchanged; an id made only of dots is escaped entirely, so it is never a `.` or
# `..` segment (docs/server.md, "Ids in URLs").
_PATH_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_ESCAPE = re.compile(rb"~([0-9A-Fa-f]{2})")


def quote_id(value: str) -> str:
    """`value` as one URL path segment (~XX escapes; see above)."""
    data = value.encode("utf-8")
    dots_only = data.strip(b".") == b""
    return "".join(chr(b) if b in _PATH_SAFE and not dots_only else f"~{b:02X}" for b in data)


def unquote_id(segment: str) -> str:
    """The id a path segment names: the inverse of quote_id. Any character that is not part of
    a ~XX escape stands for itself, so plain ids (and percent-decoded ones) need no escaping.

    Raises:
        InvalidArgumentError: the escapes do not form UTF-8 text.
    """
    if "~" not in segment:
        return segment
    data = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), segment.encode("utf-8"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(
            f"path segment {segment!r}: its ~XX escapes are not UTF-8 text") from None


# ---- retry policy -------------------------------------------------------------------------


def normalize_retry(retry: Optional[Dict[str, Any]], what: str) -> Dict[str, Any]:
    """The retry policy in its normalised camelCase form, validated at the call site by the
    one validator, the native parser the runtime uses for the yielded task
    (`_core._normalize_retry_policy`): snake_case and camelCase keys; None is the default
    policy. Raises InvalidTypeError / InvalidArgumentError naming `what` and the field."""
    return _core._normalize_retry_policy(retry, what)
