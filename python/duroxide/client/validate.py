"""Argument checks shared by every client implementation, derived from ClientAPI.

ClientBase wraps each ClientAPI operation a subclass defines (`checked`) so that, before
anything is sent or written, for Client and HttpClient alike (and so for the REST server and
the CLI, which call them):

* an id or name parameter (`instance_id`, `name`, `queue`, `topic`, ...) that is not a str
  raises InvalidTypeError naming the parameter; one with a forbidden character (controls,
  U+2028/U+2029, lone surrogates, invisible format characters: duroxide._common.check_text)
  raises InvalidArgumentError naming it;
* an integer parameter (`timeout_ms`, `execution_id`, `id`, ...) that is not an int raises
  InvalidTypeError, one outside int64 InvalidArgumentError, both naming the parameter;
* a TypeError the native layer raises for an argument it cannot convert (pybind11's
  "incompatible function arguments", which prints the C++ signature and object addresses)
  becomes InvalidTypeError without that text.

The rules come from ClientAPI's annotations (the contract), so a new operation gets them
without code here. Payloads are checked where they are encoded (dumps_value: strict JSON).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, List, Optional, Tuple

from duroxide._common import check_text
from duroxide.errors import InvalidArgumentError, InvalidTypeError

__all__ = ["checked", "check_int", "INT64_MIN", "INT64_MAX", "PYBIND_MARKERS"]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Parameters that hold an id or a name (docs/reliability.md, "Ids and names").
ID_PARAMS = frozenset({"instance_id", "name", "event_name", "queue_name", "queue", "topic",
                       "operation", "key", "version", "name_or_id", "actor_type"})

# How messages name a parameter: its words and its name ("event name (event_name)").
_LABELS = {"instance_id": "instance id (instance_id)", "name": "orchestration name (name)",
           "event_name": "event name (event_name)", "queue_name": "queue name (queue_name)",
           "queue": "queue name (queue)", "name_or_id": "worker name or id (name_or_id)",
           "actor_type": "actor type (actor_type)"}

# Text pybind11 puts in the TypeError of an argument it cannot convert.
PYBIND_MARKERS = ("incompatible function arguments", "incompatible constructor arguments")

Check = Callable[[Any, str], Any]


def check_int(value: Any, what: str) -> int:
    """`value` as an int64: InvalidTypeError for a non-int (a bool, a str, a fractional
    float), InvalidArgumentError outside [-2**63, 2**63-1]. An integral float passes (JSON
    numbers and old callers that passed 5.0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{what} must be an int, not {type(value).__name__}")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidTypeError(f"{what} must be an int, got {value!r}")
        value = int(value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidArgumentError(
            f"{what} is out of range: {value} does not fit in a signed 64-bit integer")
    return int(value)


def _check_id(value: Any, what: str) -> Any:
    # Emptiness and byte length are checked by the core, with the messages of its limits.
    return check_text(value, what, allow_empty=True)


def _check_str(value: Any, what: str) -> Any:
    if not isinstance(value, str):
        raise InvalidTypeError(f"{what} must be a str, not {type(value).__name__}")
    return value


def _check_ints(value: Any, what: str) -> Any:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidTypeError(f"{what} must be a sequence of ints, not {type(value).__name__}")
    for i, item in enumerate(value):
        check_int(item, f"{what}[{i}]")
    return value


def _optional(check: Check) -> Check:
    def run(value: Any, what: str) -> Any:
        return None if value is None else check(value, what)
    return run


def _rule(param: inspect.Parameter) -> Optional[Check]:
    """The check for one ClientAPI parameter, from its name and (string) annotation."""
    annotation = str(param.annotation).replace(" ", "")
    optional = annotation.startswith("Optional[")
    base = annotation[len("Optional["):-1] if optional else annotation
    check: Optional[Check] = None
    if base == "str":
        check = _check_id if param.name in ID_PARAMS else _check_str
    elif base == "int":
        check = check_int
    elif base == "Sequence[int]":
        check = _check_ints
    if check is None:
        return None
    return _optional(check) if optional or param.default is None else check


def _rules(api_fn: Callable[..., Any]) -> List[Tuple[int, str, str, Check]]:
    params = list(inspect.signature(api_fn).parameters.values())[1:]  # without self
    out = []
    for index, param in enumerate(params):
        check = _rule(param)
        if check is not None:
            out.append((index, param.name, _LABELS.get(param.name, param.name), check))
    return out


def checked(op: str, api_fn: Callable[..., Any], impl: Callable[..., Any]) -> Callable[..., Any]:
    """`impl` (an implementation of ClientAPI operation `op`) with the checks of the module
    docstring; `api_fn` is ClientAPI's declaration, whose annotations give the rules."""
    rules = _rules(api_fn)

    def check_all(args: Tuple[Any, ...], kwargs: Any) -> None:
        for index, name, label, check in rules:
            if index < len(args):
                check(args[index], f"{op}: {label}")
            elif name in kwargs:
                check(kwargs[name], f"{op}: {label}")

    if inspect.iscoroutinefunction(impl):  # the asyncio clients' hand-written operations
        @functools.wraps(impl)
        async def run_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            check_all(args, kwargs)
            return await impl(self, *args, **kwargs)

        run_async.__duroxide_checked__ = True  # type: ignore[attr-defined]
        return run_async

    @functools.wraps(impl)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        check_all(args, kwargs)
        try:
            return impl(self, *args, **kwargs)
        except TypeError as exc:
            if isinstance(exc, InvalidTypeError) or not any(m in str(exc)
                                                            for m in PYBIND_MARKERS):
                raise
            raise InvalidTypeError(
                f"{op}: an argument has a type the call does not accept") from None

    run.__duroxide_checked__ = True  # type: ignore[attr-defined]
    return run
