"""Messages between instances (docs/messaging.md): the Message and Request values, the
request errors, the reserved queue names, and the decoding of the envelopes the core hands
back for a dequeued message or a reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from duroxide._common import loads_or, loads_or_raw
from duroxide.errors import InvalidArgumentError, RequestFailedError, RequestTimedOutError

REQUEST_QUEUE_PREFIX = "__req:"
REPLY_QUEUE_PREFIX = "__reply:"
CLIENT_REPLY_TARGET = "@client"
DEFAULT_REQUEST_TIMEOUT_MS = 30000


__all__ = ["Message", "Request", "RequestFailedError", "RequestTimedOutError"]


@dataclass(frozen=True)
class Message:
    """A message taken from a queue by receive_message (or handed to an actor handler)."""

    data: Any
    sender: Optional[str]
    queue: str
    message_id: Optional[str]
    sent_at_ms: Optional[int]
    topic: Optional[str] = None


@dataclass(frozen=True)
class Request:
    """A request taken by receive_request; answer it with ctx.reply or ctx.reply_error."""

    data: Any
    sender: Optional[str]
    operation: str
    request_id: str
    reply_to: Optional[str] = field(default=None, repr=False)


def check_timeout(timeout_ms: Any, what: str) -> int:
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms < 0:
        raise InvalidArgumentError(f"{what}: timeout_ms must be an int >= 0, got {timeout_ms!r}")
    return timeout_ms


def _meta(env: Dict[str, Any]) -> Dict[str, Any]:
    parsed = loads_or(env.get("meta"), {})
    return parsed if isinstance(parsed, dict) else {}


def message_from_envelope(env: Any) -> Message:
    """The Message for a dequeue envelope {"queue", "data", "meta"}."""
    if not isinstance(env, dict):
        return Message(env, None, "", None, None, None)
    meta = _meta(env)
    return Message(
        data=loads_or_raw(env.get("data", "null")),
        sender=meta.get("sender"),
        queue=str(env.get("queue", "")),
        message_id=meta.get("message_id"),
        sent_at_ms=meta.get("sent_at_ms"),
        topic=meta.get("topic"),
    )


def request_from_envelope(env: Any) -> Request:
    msg = message_from_envelope(env)
    meta = _meta(env) if isinstance(env, dict) else {}
    operation = meta.get("operation")
    if not isinstance(operation, str):
        operation = msg.queue[len(REQUEST_QUEUE_PREFIX):]
    return Request(msg.data, msg.sender, operation, str(msg.message_id or ""),
                   meta.get("reply_to"))


def reply_value(payload: Any, target: str, operation: str) -> Any:
    """The value of a reply payload {"ok": v} | {"error": m}; raises RequestFailedError."""
    if isinstance(payload, str):
        payload = loads_or_raw(payload)
    if isinstance(payload, dict) and "error" in payload:
        raise RequestFailedError(
            f"request '{operation}' to '{target}' failed: {payload['error']}")
    if isinstance(payload, dict) and "ok" in payload:
        return payload["ok"]
    return payload


def request_post(target: str, operation: str, timeout_ms: int) -> Callable[[Any], Any]:
    def post(value: Any) -> Any:
        if isinstance(value, dict) and value.get("index") == 0:
            env = value.get("value")
            data = env.get("data") if isinstance(env, dict) else env
            return reply_value(data, target, operation)
        raise RequestTimedOutError(
            f"request '{operation}' to '{target}' timed out after {timeout_ms} ms")
    return post
