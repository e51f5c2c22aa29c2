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
