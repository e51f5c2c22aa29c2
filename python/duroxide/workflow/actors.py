"""Durable actors (docs/messaging.md): one orchestration instance per (type, key).

An actor is an ordinary instance with the reserved id "@actor/<type>/<key>" running a
built-in loop orchestration ("__duroxide_actor__:<type>"): take the oldest message of any of
its queues, call the handler with (ctx, state, msg), reply if it was a request, save the
state, and continue-as-new every `messages_per_execution` messages carrying the state and the
unread messages. The runtime starts it on its first message (start-if-absent, in the turn
that takes the message), so the first message is never lost.
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Callable, Dict, Generator, List, Optional, TypeVar

from duroxide._common import check_name
from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.workflow.messages import (
    DEFAULT_REQUEST_TIMEOUT_MS,
    REQUEST_QUEUE_PREFIX,
    Message,
    Request,
    message_from_envelope,
    request_from_envelope,
)
from duroxide.workflow.tasks import Task

ACTOR_PREFIX = "@actor/"
ACTOR_ORCHESTRATION_PREFIX = "__duroxide_actor__:"
ACTOR_QUEUE = "__actor"          # queue of actor.send()
ACTOR_OPERATION = "message"      # operation of actor.request()
STATE_KEY = "__actor_state"      # KV key holding the JSON state after each message
DEFAULT_MESSAGES_PER_EXECUTION = 100

Handler = Callable[[Any, Dict[str, Any], Message], Any]
# The decorators return the handler unchanged, so its type is kept.
H = TypeVar("H", bound=Callable[..., Any])

# Actor types registered in this process (any Registry), for early "unknown actor type" errors.
_actor_types: Dict[str, "ActorType"] = {}


def actor_instance_id(actor_type: Any, key: Any) -> str:
    """The instance id of actor (actor_type, key)."""
    check_name(actor_type, "actor type")
    check_name(key, "actor key")
    if "/" in actor_type:
        raise InvalidArgumentError(f"actor type {actor_type!r} must not contain '/'")
    return f"{ACTOR_PREFIX}{actor_type}/{key}"


def check_actor_type(actor_type: str) -> None:
    """Rejects a type no registry of this process knows, when this process registered any."""
    if _actor_types and actor_type not in _actor_types:
        known = ", ".join(sorted(_actor_types))
        raise InvalidArgumentError(f"unknown actor type {actor_type!r} (registered: {known})")


class ActorType:
    """What runtime.register_actor("Type") returns: decorate handlers with it."""

    def __init__(self, name: str,
                 messages_per_execution: int = DEFAULT_MESSAGES_PER_EXECUTION) -> None:
        check_name(name, "register_actor: name")
        if "/" in name:
            raise InvalidArgumentError(f"register_actor: name {name!r} must not contain '/'")
        if (not isinstance(messages_per_execution, int) or isinstance(messages_per_execution, bool)
                or messages_per_execution < 1):
            raise InvalidArgumentError(
                "register_actor: messages_per_execution must be an int >= 1, "
                f"got {messages_per_execution!r}")
        self.name = name
        self.messages_per_execution = messages_per_execution
        self.message_handler: Optional[Handler] = None
        self.event_handlers: Dict[str, Handler] = {}

    @property
    def orchestration_name(self) -> str:
        return ACTOR_ORCHESTRATION_PREFIX + self.name

    def on_message(self, fn: H) -> H:
        """Registers handler(ctx, state, msg); its return value is the reply to a request."""
        if not callable(fn):
            raise InvalidTypeError("on_message: handler must be callable")
        self.message_handler = fn
        return fn

    def on_event(self, topic: str) -> Callable[[H], H]:
        """Registers handler(ctx, state, msg) for topic `topic` (the actor subscribes to it)."""
        check_name(topic, "on_event: topic")

        def register(fn: H) -> H:
            if not callable(fn):
                raise InvalidTypeError("on_event: handler must be callable")
            self.event_handlers[topic] = fn
            return fn
        return register

    async def loop(self, ctx: Any, input: Any) -> Any:
        """The built-in actor orchestration (async def, so that handlers of both styles run
        inside it: a generator handler is delegated to, a coroutine handler awaited; the
        rules of async orchestrations apply to both)."""
        state: Dict[str, Any] = {}
        if isinstance(input, dict) and isinstance(input.get("state"), dict):
            state = dict(input["state"])
        for topic in sorted(self.event_handlers):
            ctx.subscribe(topic)  # idempotent; the subscription survives continue-as-new
        for _ in range(self.messages_per_execution):
            env = await Task({"type": "dequeueEvent", "queueName": "*", "envelope": True})
            await self._handle(ctx, state, env)
            ctx.set_kv_value(STATE_KEY, json.dumps(state))
        key = input.get("key") if isinstance(input, dict) else None
        await ctx.continue_as_new({"type": self.name, "key": key, "state": state})

    async def _handle(self, ctx: Any, state: Dict[str, Any], env: Any) -> None:
        msg = message_from_envelope(env)
        req: Optional[Request] = None
        if msg.queue.startswith(REQUEST_QUEUE_PREFIX):
            req = request_from_envelope(env)
            if not req.reply_to:
                req = None
        if msg.topic is not None and msg.queue == msg.topic:
            handler = self.event_handlers.get(msg.topic)
        else:
            handler = self.message_handler
        if handler is None:
            if req is not None:
                ctx.reply_error(req, f"actor type '{self.name}' has no handler for this message")
            return
        try:
            result = handler(ctx, state, msg)
            if inspect.isgenerator(result):
                result = await _Delegate(result)
            elif inspect.iscoroutine(result):
                result = await result
            if req is not None:
                ctx.reply(req, result)
        except Exception as exc:  # the actor survives a failing handler
            if req is not None:
                ctx.reply_error(req, f"{type(exc).__name__}: {exc}")
            else:
                ctx.trace_error(f"actor {ctx.instance_id}: handler failed: "
                                f"{type(exc).__name__}: {exc}")


class _Delegate:
    """Awaits a generator handler from the async actor loop (`yield from` its tasks)."""

    def __init__(self, gen: Generator[Any, Any, Any]) -> None:
        self.gen = gen

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield from self.gen)


class ActorAddress:
    """What every client-side actor reference holds: the actor's instance id, type and key, and
    the client it calls (ActorRef here, AsyncActorRef in client/aio_actor.py)."""

    def __init__(self, client: Any, actor_type: str, key: str) -> None:
        self.instance_id = actor_instance_id(actor_type, key)
        check_actor_type(actor_type)
        self.actor_type = actor_type
        self.key = key
        self._client = client


class ActorRef(ActorAddress):
    """client.actor(type, key): send, request and read the state of one actor."""

    def send(self, data: Any = None) -> str:
        """Sends `data` to the actor (started if absent); returns the message id."""
        return str(self._client.send_message(self.instance_id, ACTOR_QUEUE, data))

    def request(self, data: Any = None, timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        """Sends `data` and blocks until the handler's return value arrives."""
        return self._client.request(self.instance_id, ACTOR_OPERATION, data, timeout_ms)

    def state(self) -> Dict[str, Any]:
        """The actor's state as of its last handled message ({} before the first)."""
        raw = self._client.get_kv_value(self.instance_id, STATE_KEY)
        if not raw:
            return {}
        value = json.loads(raw)
        return value if isinstance(value, dict) else {}


class OrchestrationActorRef:
    """ctx.actor(type, key): send (no yield) and request (yield) from an orchestration."""

    def __init__(self, ctx: Any, actor_type: str, key: str) -> None:
        self.instance_id = actor_instance_id(actor_type, key)
        check_actor_type(actor_type)
        self._ctx = ctx

    def send(self, data: Any = None) -> str:
        return str(self._ctx.send_message(self.instance_id, ACTOR_QUEUE, data))

    def request(self, data: Any = None,
                timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        """The request task (yield it or await it): gives the handler's return value."""
        return self._ctx.request(self.instance_id, ACTOR_OPERATION, data, timeout_ms)


def parse_actor_id(instance_id: str) -> Optional[List[str]]:
    """[type, key] for an actor instance id, else None."""
    if not instance_id.startswith(ACTOR_PREFIX):
        return None
    rest = instance_id[len(ACTOR_PREFIX):]
    actor_type, sep, key = rest.partition("/")
    if not sep or not actor_type or not key:
        return None
    return [actor_type, key]
