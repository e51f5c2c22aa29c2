"""Messaging calls of the orchestration context (docs/messaging.md).

`MessagingContextMixin` adds the orchestration-side calls to OrchestrationContext:
send_message / receive_message, request / receive_request / reply / reply_error,
subscribe / unsubscribe / publish_event. Fire-and-forget calls record an event through the
native host at once (no yield), like set_kv_value; waits return task descriptors whose
`_post` hook turns the raw value into a Message, a Request or a reply (see workflow.generator.step).
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from duroxide._common import check_name, dumps_value
from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.workflow.actors import OrchestrationActorRef
from duroxide.workflow.messages import (
    DEFAULT_REQUEST_TIMEOUT_MS,
    REPLY_QUEUE_PREFIX,
    REQUEST_QUEUE_PREFIX,
    Request,
    check_timeout,
    message_from_envelope,
    request_from_envelope,
    request_post,
)
from duroxide.workflow.tasks import Task


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
        payload = dumps_value(data, "send_message data")
        return self._send(instance_id, queue, payload, None)

    def _send(self, target: str, queue: str, payload: str, meta: Optional[Dict[str, Any]]) -> str:
        if self._host is None:
            return ""
        return str(self._host.send_message(target, queue, payload,
                                           json.dumps(meta) if meta else ""))

    def receive_message(self, queue: str) -> Task:
        """Yields the next Message of queue `queue` (FIFO, like dequeue_event)."""
        check_name(queue, "receive_message: queue")
        return Task({"type": "dequeueEvent", "queueName": queue, "envelope": True,
                "_post": message_from_envelope})

    # ---- request / response ---------------------------------------------------------------
    def request(self, instance_id: str, operation: str, data: Any = None,
                timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Task:
        """Sends a request; yields the reply value.

        The yield raises RequestFailedError (error reply, or the target is missing or ended)
        or RequestTimedOutError (durable timer: a restart does not reset it).
        """
        check_name(instance_id, "request: instance_id")
        check_name(operation, "request: operation")
        check_timeout(timeout_ms, "request")
        payload = dumps_value(data, "request data")
        request_id = self._send(instance_id, REQUEST_QUEUE_PREFIX + operation, payload,
                                {"kind": "request", "operation": operation,
                                 "reply_to": self.instance_id})
        reply_queue = REPLY_QUEUE_PREFIX + (request_id or "unsent")
        return Task({
            "type": "select",
            "tasks": [
                {"type": "dequeueEvent", "queueName": reply_queue, "envelope": True},
                {"type": "timer", "delayMs": timeout_ms},
            ],
            "_post": request_post(instance_id, operation, timeout_ms),
        })

    def receive_request(self, operation: Optional[str] = None) -> Task:
        """Yields the next Request for `operation` (None: any operation), in arrival order."""
        if operation is not None:
            check_name(operation, "receive_request: operation")
        queue = REQUEST_QUEUE_PREFIX + (operation if operation is not None else "*")
        return Task({"type": "dequeueEvent", "queueName": queue, "envelope": True,
                "_post": request_from_envelope})

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
        payload = dumps_value(body, what)
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
        payload = dumps_value(data, "publish_event data")
        if self._host is not None:
            self._host.publish_event(topic, payload)

    # ---- actors ---------------------------------------------------------------------------
    def actor(self, actor_type: str, key: str) -> OrchestrationActorRef:
        """An address for actor (actor_type, key): .send(data), yield .request(data)."""
        return OrchestrationActorRef(self, actor_type, key)
