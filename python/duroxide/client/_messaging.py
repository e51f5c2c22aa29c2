"""Client-side messaging (docs/messaging.md): send, publish, request, dead letters, topics,
actors. Mixed into duroxide.Client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from duroxide._common import check_name, dumps_value, loads_or_raw
from duroxide.workflow.actors import ActorRef, parse_actor_id
from duroxide.workflow.messages import (
    DEFAULT_REQUEST_TIMEOUT_MS,
    RequestTimedOutError,
    check_timeout,
    reply_value,
)


@dataclass(frozen=True)
class DeadLetter:
    """A message that could not be delivered, with the reason."""

    id: int
    instance_id: str
    queue: str
    data: Any
    reason: str
    created_at_ms: int
    sender: Optional[str]
    message_id: Optional[str]


@dataclass(frozen=True)
class TopicInfo:
    """A topic: subscriber count and backlog (entries the slowest subscriber has not got)."""

    topic: str
    subscribers: int
    backlog: int
    last_seq: int


@dataclass(frozen=True)
class TopicSubscriber:
    instance_id: str
    cursor: int
    lag: int
    subscribed_at_ms: int


@dataclass(frozen=True)
class TopicDetail:
    """client.get_topic(topic): the topic and its subscribers with their cursor lag."""

    topic: str
    subscribers: List[TopicSubscriber]
    backlog: int
    last_seq: int


@dataclass(frozen=True)
class ActorInfo:
    actor_type: str
    key: str
    instance_id: str
    status: str


class MessagingClientMixin:
    """Messaging methods of Client (needs `_native` and the management/KV methods)."""

    _native: Any

    def send_message(self, instance_id: str, queue: str, data: Any = None) -> str:
        """Sends `data` to `instance_id`'s queue `queue`; returns the message id.

        A message to an instance that does not exist, completed or failed becomes a dead letter.
        """
        check_name(instance_id, "send_message: instance_id")
        check_name(queue, "send_message: queue")
        return str(self._native.send_message(instance_id, queue,
                                             dumps_value(data, "send_message data")))

    def publish_event(self, topic: str, data: Any = None) -> int:
        """Publishes `data` to every current subscriber of `topic`; returns its sequence number."""
        check_name(topic, "publish_event: topic")
        return int(self._native.publish_event(topic, dumps_value(data, "publish_event data")))

    def request(self, instance_id: str, operation: str, data: Any = None,
                timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        """Sends a request to a running instance and blocks (GIL released) until the reply.

        Raises:
            RequestFailedError: error reply, or the target completed, failed or does not exist.
            RequestTimedOutError: no reply within timeout_ms.
        """
        check_name(instance_id, "request: instance_id")
        check_name(operation, "request: operation")
        check_timeout(timeout_ms, "request")
        payload = dumps_value(data, "request data")
        _, reply = self._native.request(instance_id, operation, payload, int(timeout_ms))
        if reply is None:
            raise RequestTimedOutError(
                f"request '{operation}' to '{instance_id}' timed out after {timeout_ms} ms")
        return reply_value(reply, instance_id, operation)

    # ---- dead letters ---------------------------------------------------------------------
    def list_dead_letters(self, instance_id: Optional[str] = None) -> List[DeadLetter]:
        """Undeliverable messages (oldest first), optionally for one intended recipient."""
        out = []
        for row in self._native.list_dead_letters(instance_id):
            meta = loads_or_raw(row["meta"]) if row["meta"] else {}
            meta = meta if isinstance(meta, dict) else {}
            out.append(DeadLetter(row["id"], row["instance_id"], row["queue"],
                                  loads_or_raw(row["data"]), row["reason"], row["created_at_ms"],
                                  meta.get("sender"), meta.get("message_id")))
        return out

    def redeliver_dead_letter(self, id: int) -> None:
        """Moves dead letter `id` back to its recipient's queue (NotFoundError if gone)."""
        self._native.redeliver_dead_letter(int(id))

    def purge_dead_letters(self, instance_id: Optional[str] = None,
                           before_ms: Optional[int] = None,
                           ids: Optional[Sequence[int]] = None) -> int:
        """Deletes dead letters (all, or those matching every given filter); returns the count."""
        return int(self._native.purge_dead_letters(
            instance_id, None if before_ms is None else int(before_ms),
            [int(i) for i in (ids or [])]))

    # ---- topics ---------------------------------------------------------------------------
    def list_topics(self) -> List[TopicInfo]:
        """Every topic with its subscriber count and backlog."""
        return [TopicInfo(t, subs, backlog, last)
                for (t, last, subs, backlog) in self._native.list_topics()]

    def get_topic(self, topic: str) -> TopicDetail:
        """A topic's subscribers with their cursor lag (NotFoundError for an unknown topic)."""
        check_name(topic, "get_topic: topic")
        (name, last, _count, backlog), rows = self._native.get_topic(topic)
        subs = [TopicSubscriber(i, c, lag, at) for (i, c, lag, at) in rows]
        return TopicDetail(name, subs, backlog, last)

    # ---- actors ---------------------------------------------------------------------------
    def actor(self, actor_type: str, key: str) -> ActorRef:
        """The address of actor (actor_type, key): .send(data), .request(data), .state()."""
        return ActorRef(self, actor_type, key)

    def list_actors(self, actor_type: Optional[str] = None) -> List[ActorInfo]:
        """Actor instances (optionally of one type) with their status."""
        out = []
        for instance_id in self.list_all_instances():  # type: ignore[attr-defined]
            parsed = parse_actor_id(instance_id)
            if parsed is None or (actor_type is not None and parsed[0] != actor_type):
                continue
            status = self.get_status(instance_id).status  # type: ignore[attr-defined]
            out.append(ActorInfo(parsed[0], parsed[1], instance_id, status))
        return out
