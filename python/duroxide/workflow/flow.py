"""Flow-control values and their argument checks (docs/flow-control.md).

Every check runs before anything is written and raises InvalidArgumentError (a ValueError)
naming the argument, or InvalidTypeError (a TypeError) for a value of the wrong type.
"""
from __future__ import annotations

from typing import Any

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
