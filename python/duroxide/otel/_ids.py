"""Trace and span ids that every process derives alike (no storage, no coordination).

An execution's span is emitted once, when the execution ends, possibly by another process than
the one that ran its first turns; its children (activity attempts, timers, sub-orchestrations)
are emitted earlier and elsewhere. So the execution's span id is a function of what every
worker knows: the trace id, the instance id and the execution id. A start without a caller's
trace context gets a trace id derived from its instance id, for the same reason.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple, Optional


class Parent(NamedTuple):
    """A W3C traceparent, parsed."""

    trace_id: int
    span_id: int
    sampled: bool


def _digest(text: str, nbytes: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:nbytes], "big")
    return value or 1  # all-zero ids are invalid in W3C trace context


def instance_trace_id(instance_id: str) -> int:
    """The trace of an instance started without a caller's trace context."""
    return _digest(f"duroxide-trace\0{instance_id}", 16)


def execution_span_id(trace_id: int, instance_id: str, execution_id: int) -> int:
    """The span id of execution `execution_id` of `instance_id` in trace `trace_id`."""
    return _digest(f"duroxide-execution\0{trace_id:032x}\0{instance_id}\0{execution_id}", 8)


def format_traceparent(trace_id: int, span_id: int, sampled: bool = True) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"


def parse_traceparent(text: Optional[str]) -> Optional[Parent]:
    """The parsed header, or None for "" or anything that is not a valid version-00 header
    (a malformed stored value starts a new trace rather than failing the work)."""
    if not text or not isinstance(text, str):
        return None
    parts = text.strip().split("-")
    if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
        return None
    try:
        trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
    except ValueError:
        return None
    if parts[0] == "ff" or trace_id == 0 or span_id == 0:
        return None
    return Parent(trace_id, span_id, bool(flags & 1))
