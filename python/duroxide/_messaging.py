"""Messaging between instances (docs/messaging.md): messages, requests, topics.

`MessagingContextMixin` adds the orchestration-side calls to OrchestrationContext:
send_message / receive_message, request / receive_request / reply / reply_error,
subscribe / unsubscribe / publish_event. Fire-and-forget calls record an event through the
native host at once (no yield), like set_kv_value; waits return task descriptors whose
`_post` hook turns the raw value into a Message, a Request or a reply (see driver.step).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from duroxide.errors import DuroxideError, InvalidArgumentError, InvalidTypeError

REQUEST_QUEUE_PREFIX = "__req:"
REPLY_QUEUE_PREFIX = "__reply:"
CLIENT_REPLY_TARGET = "@client"
DEFAULT_REQUEST_TIMEOUT_MS = 30000


class RequestFailedError(DuroxideError):
    """A request got an error reply, or its target completed, failed or does not exist."""


class RequestTimedOutError(DuroxideError, TimeoutError):
    """No reply arrived before the request's (durable) timeout."""


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


def dumps_data(value: Any, what: str) -> str:
    """json.dumps with a TypeError that names the call (raised at the call site)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what}: value of type {type(value).__name__} is not JSON-serializable ({exc})"
        ) from None


def check_name(value: Any, what: str) -> str:
    """Ids, queue, topic and operation names must be non-empty strings."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise InvalidArgumentError(f"{what} must not be empty")
    return value


def check_timeout(timeout_ms: Any, what: str) -> int:
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or timeout_ms < 0:
        raise InvalidArgumentError(f"{what}: timeout_ms must be an int >= 0, got {timeout_ms!r}")
    return timeout_ms


def _decode(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _meta(env: Dict[str, Any]) -> Dict[str, Any]:
    raw = env.get("meta") or ""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def message_from_envelope(env: Any) -> Message:
    """The Message for a dequeue envelope {"queue", "data", "meta"}."""
    if not isinstance(env, dict):
        return Message(env, None, "", None, None, None)
    meta = _meta(env)
    return Message(
        data=_decode(env.get("data", "null")),
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
        payload = _decode(payload)
    if isinstance(payload, dict) and "error" in payload:
        raise RequestFailedError(
            f"request '{operation}' to '{target}' failed: {payload['error']}")
    if isinstance(payload, dict) and "ok" in payload:
        return payload["ok"]
    return payload


def _request_post(target: str, operation: str, timeout_ms: int) -> Callable[[Any], Any]:
    def post(value: Any) -> Any:
        if isinstance(value, dict) and value.get("index") == 0:
            env = value.get("value")
            data = env.get("data") if isinstance(env, dict) else env
            return reply_value(data, target, operation)
        raise RequestTimedOutError(
            f"request '{operation}' to '{target}' timed out after {timeout_ms} ms")
    return post


class MessagingContextMixin:
    """Messaging calls of OrchestrationContext (needs `instance_id` and `_host`)."""

    instance_id: str
    _host: Any

    # ---- point to point -------------------------------------------------------------------
    def send_message(self, instance_id: str, queue: str, data: Any) -> str:
        """Sends `data` to `instance_id`'s queue `queue` when this turn commits (no yield).

        Returns the message id (derived from this instance, execution and event id).
        Raises TypeError at once if `data` is not JSON-serializable.
        """
        check_name(instance_id, "send_message: instance_id")
        check_name(queue, "send_message: queue")
        payload = dumps_data(data, "send_message data")
        return self._send(instance_id, queue, payload, None)

    def _send(self, target: str, queue: str, payload: str, meta: Optional[Dict[str, Any]]) -> str:
        if self._host is None:
            return ""
        return str(self._host.send_message(target, queue, payload,
                                           json.dumps(meta) if meta else ""))

    def receive_message(self, queue: str) -> Dict[str, Any]:
        """Yields the next Message of queue `queue` (FIFO, like dequeue_event)."""
        check_name(queue, "receive_message: queue")
        return {"type": "dequeueEvent", "queueName": queue, "envelope": True,
                "_post": message_from_envelope}

    # ---- request / response ---------------------------------------------------------------
    def request(self, instance_id: str, operation: str, data: Any = None,
                timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Dict[str, Any]:
        """Sends a request; yields the reply value.

        The yield raises RequestFailedError (error reply, or the target is missing or ended)
        or RequestTimedOutError (durable timer: a restart does not reset it).
        """
        check_name(instance_id, "request: instance_id")
        check_name(operation, "request: operation")
        check_timeout(timeout_ms, "request")
        payload = dumps_data(data, "request data")
        request_id = self._send(instance_id, REQUEST_QUEUE_PREFIX + operation, payload,
                                {"kind": "request", "operation": operation,
                                 "reply_to": self.instance_id})
        reply_queue = REPLY_QUEUE_PREFIX + (request_id or "unsent")
        return {
            "type": "select",
            "tasks": [
                {"type": "dequeueEvent", "queueName": reply_queue, "envelope": True},
                {"type": "timer", "delayMs": timeout_ms},
            ],
            "_post": _request_post(instance_id, operation, timeout_ms),
        }

    def receive_request(self, operation: Optional[str] = None) -> Dict[str, Any]:
        """Yields the next Request for `operation` (None: any operation), in arrival order."""
        if operation is not None:
            check_name(operation, "receive_request: operation")
        queue = REQUEST_QUEUE_PREFIX + (operation if operation is not None else "*")
        return {"type": "dequeueEvent", "queueName": queue, "envelope": True,
                "_post": request_from_envelope}

    def reply(self, req: Request, value: Any = None) -> None:
        """Answers `req` with `value` when this turn commits (no yield)."""
        self._reply(req, {"ok": value}, "reply value")

    def reply_error(self, req: Request, message: Any) -> None:
        """Answers `req` with an error: the caller's yield raises RequestFailedError."""
        self._reply(req, {"error": str(message)}, "reply_error message")

    def _reply(self, req: Any, body: Dict[str, Any], what: str) -> None:
        if not isinstance(req, Request):
            raise InvalidTypeError(f"{what}: expected a Request from receive_request, "
                                   f"not {type(req).__name__}")
        if not req.reply_to:
            raise InvalidArgumentError(f"{what}: request '{req.request_id}' expects no reply")
        payload = dumps_data(body, what)
        self._send(req.reply_to, REPLY_QUEUE_PREFIX + req.request_id, payload, {"kind": "reply"})

    # ---- publish / subscribe --------------------------------------------------------------
    def subscribe(self, topic: str) -> None:
        """Subscribes this instance to `topic` from this turn's commit on (no yield).

        Events arrive on the queue named after the topic; the subscription survives
        continue-as-new and ends when the instance completes, fails or is deleted.
        """
        check_name(topic, "subscribe: topic")
        if self._host is not None:
            self._host.subscribe(topic)

    def unsubscribe(self, topic: str) -> None:
        """Ends the subscription to `topic` when this turn commits (no yield)."""
        check_name(topic, "unsubscribe: topic")
        if self._host is not None:
            self._host.unsubscribe(topic)

    def publish_event(self, topic: str, data: Any = None) -> None:
        """Publishes `data` to every subscriber of `topic` when this turn commits (no yield)."""
        check_name(topic, "publish_event: topic")
        payload = dumps_data(data, "publish_event data")
        if self._host is not None:
            self._host.publish_event(topic, payload)

    # ---- actors ---------------------------------------------------------------------------
    def actor(self, actor_type: str, key: str) -> "Any":
        """An address for actor (actor_type, key): .send(data), yield .request(data)."""
        from duroxide._actors import OrchestrationActorRef

        return OrchestrationActorRef(self, actor_type, key)
