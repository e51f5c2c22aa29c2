"""Debounce that keeps every item (docs/flow-control.md, "Debounce").

`client.debounce(key, orchestration, item, window_ms=...)` hands `item` to the debouncer of
`key`: a built-in orchestration with the reserved actor id "@actor/duroxide.debounce/<key>",
started by the runtime on its first request (start-if-absent, in the turn that takes it, as
for actors). The debouncer appends the item to the open batch in that turn, replies with the
batch's instance id f"{key}@{n}", and starts the batch's orchestration with the list of its
items, in arrival order, once `window_ms` passes with no new item, `max_wait_ms` after the
batch's first item, or when it holds `max_items`. The start is part of the debouncer's turn
commit and its id is deterministic, so each batch starts exactly once, whatever process runs
the debouncer and whatever crashes meanwhile; items are requests, which messaging delivers
exactly once and in order.

Everything here is replayed orchestration code: no I/O, time only from ctx.utc_now().
"""

from __future__ import annotations

from typing import Any, Dict, Generator, List, Optional

from duroxide._common import check_name
from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.workflow.actors import ACTOR_ORCHESTRATION_PREFIX, actor_instance_id

DEBOUNCE_TYPE = "duroxide.debounce"
DEBOUNCE_ORCHESTRATION = ACTOR_ORCHESTRATION_PREFIX + DEBOUNCE_TYPE
DEBOUNCE_OPERATION = "debounce"
# Items taken per execution before continue-as-new (bounds the debouncer's history; the open
# batch and unread requests are carried over).
ITEMS_PER_EXECUTION = 64


def debounce_instance_id(key: str) -> str:
    """The debouncer of `key` (an actor id, so the runtime starts it on its first request)."""
    return actor_instance_id(DEBOUNCE_TYPE, key)


def _positive(value: Any, name: str, optional: bool) -> Optional[int]:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"debounce: {name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise InvalidArgumentError(f"debounce: {name} must be >= 1, got {value}")
    return value


def debounce_request(key: Any, orchestration: Any, item: Any, window_ms: Any,
                     max_wait_ms: Any, max_items: Any, version: Any) -> Dict[str, Any]:
    """The request data of one debounce call, every argument checked (nothing is sent when
    one is bad: InvalidArgumentError / InvalidTypeError naming it)."""
    check_name(key, "debounce: key")
    check_name(orchestration, "debounce: orchestration")
    if version is not None:
        check_name(version, "debounce: version")
    return {"orchestration": orchestration, "version": version, "item": item,
            "window_ms": _positive(window_ms, "window_ms", False),
            "max_wait_ms": _positive(max_wait_ms, "max_wait_ms", True),
            "max_items": _positive(max_items, "max_items", True)}


def _deadline(batch: Dict[str, Any]) -> int:
    deadline = int(batch["last_at"]) + int(batch["window_ms"])
    if batch.get("max_wait_ms") is not None:
        deadline = min(deadline, int(batch["first_at"]) + int(batch["max_wait_ms"]))
    return deadline


def _fire(ctx: Any, key: str, n: int, batch: Dict[str, Any]) -> Any:
    """The start of batch n (fire-and-forget, id f"{key}@{n}")."""
    instance_id = f"{key}@{n}"
    if batch.get("version"):
        return ctx.start_orchestration_versioned(batch["orchestration"], batch["version"],
                                                 instance_id, batch["items"])
    return ctx.start_orchestration(batch["orchestration"], instance_id, batch["items"])


def debounce_loop(ctx: Any, input: Any) -> Generator[Any, Any, None]:
    """The debouncer orchestration. Input: {"key", "state": {"n", "batch"}} (the actor start
    gives an empty state; continue-as-new carries it)."""
    key = str(input.get("key")) if isinstance(input, dict) else ""
    state = input.get("state") if isinstance(input, dict) else None
    state = state if isinstance(state, dict) else {}
    n = int(state.get("n", 1))
    batch: Optional[Dict[str, Any]] = state.get("batch")
    taken = 0
    while taken < ITEMS_PER_EXECUTION:
        if batch is None:
            req = yield ctx.receive_request(DEBOUNCE_OPERATION)
        else:
            now = yield ctx.utc_now()
            won = yield ctx.race(ctx.receive_request(DEBOUNCE_OPERATION),
                                 ctx.schedule_timer(max(0, _deadline(batch) - now)))
            if won["index"] == 1:  # quiet for window_ms, or max_wait_ms since the first item
                yield _fire(ctx, key, n, batch)
                n, batch = n + 1, None
                continue
            req = won["value"]
        taken += 1
        now = yield ctx.utc_now()
        data = req.data if isinstance(req.data, dict) else {}
        if batch is None:
            batch = {"orchestration": data.get("orchestration"), "version": data.get("version"),
                     "items": [], "first_at": now, "max_wait_ms": data.get("max_wait_ms"),
                     "max_items": data.get("max_items")}
        items: List[Any] = batch["items"]
        items.append(data.get("item"))
        batch["last_at"] = now
        batch["window_ms"] = int(data.get("window_ms") or 1)  # each call pushes the deadline
        ctx.reply(req, f"{key}@{n}")
        if batch.get("max_items") is not None and len(items) >= int(batch["max_items"]):
            yield _fire(ctx, key, n, batch)
            n, batch = n + 1, None
    yield ctx.continue_as_new({"type": DEBOUNCE_TYPE, "key": key,
                               "state": {"n": n, "batch": batch}})
