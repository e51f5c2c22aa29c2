"""A store with one of everything the dashboard shows, for its browser tests and for
scripts/dashboard_screenshots.py (which regenerates docs/images/).

`build_site(path)` opens a SQLite store at `path`, starts a runtime and fills the store with:
completed orders with a sub-orchestration tree, a failed instance whose activity raised (with
its traceback), instances waiting on an event, on a timer and for an activity, a suspended,
a terminated and a cancelled one, a task graph with a failed node, actors and dead letters.
The caller shuts the runtime down (`Site.close()`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List

import duroxide

WAIT_MS = 15_000
# Named limits (issue 25) are in this build: the demo store then has limits and tasks they hold.
HAS_LIMITS = hasattr(duroxide, "Limit") and hasattr(duroxide.Runtime, "limit")


def _register_limited(rt: duroxide.Runtime, _held: Any) -> None:
    # Named limits (docs/flow-control.md): "llm" lets one call run at a time, "tenant" one per
    # key; "quota" is never defined, so its task waits for it.
    rt.limit("llm", duroxide.Limit(concurrency=1))
    rt.limit("tenant", duroxide.Limit(concurrency=1, per_key=True))
    rt.register_activity("Summarise", _held, limit="llm")
    rt.register_activity("Export", _held)

    def summarise(ctx: Any, _: Any) -> Any:
        return (yield ctx.schedule_activity("Summarise", None))

    def export(ctx: Any, tenant: str) -> Any:
        limit = "quota" if tenant == "nobody" else "tenant"
        return (yield ctx.schedule_activity("Export", None, limit=limit, limit_key=tenant))

    rt.register_orchestration("Summarise", summarise)
    rt.register_orchestration("Export", export)


def payment(ctx: Any, amount: int) -> Any:
    """The "Payment" sub-orchestration of an order (also used by test_server_dashboard)."""
    result = yield ctx.schedule_activity("Charge", amount)
    yield ctx.schedule_timer(30)
    return result


def order(ctx: Any, order: dict) -> Any:
    """The "Order" orchestration: custom status, a KV value, a child, timers, activities."""
    ctx.set_custom_status(json.dumps({"stage": "paying"}))
    ctx.set_kv_value("customer", order["customer"])
    yield ctx.schedule_activity("Reserve", order["id"])
    paid = yield ctx.schedule_sub_orchestration_with_id("Payment", f"{order['id']}-pay",
                                                        order["amount"])
    yield ctx.schedule_timer(20)
    yield ctx.schedule_activity("Ship", order["id"])
    ctx.set_custom_status(json.dumps({"stage": "done"}))
    return {"order": order["id"], "payment": paid}


def _register(rt: duroxide.Runtime, gate: Dict[str, bool]) -> Dict[str, Any]:
    @rt.register_activity("Reserve")
    def reserve(ctx: Any, order_id: str) -> str:
        time.sleep(0.03)  # visible bars on the timeline
        return f"stock-{order_id}"

    @rt.register_activity("Charge")
    def charge(ctx: Any, amount: int) -> dict:
        return {"charged": amount, "receipt": f"r-{amount}"}

    @rt.register_activity("Ship")
    def ship(ctx: Any, order_id: str) -> str:
        time.sleep(0.02)
        return f"parcel-{order_id}"

    def _validate_card(card: str) -> None:
        raise RuntimeError(f"card declined: {card} is blocked")

    @rt.register_activity("ChargeCard")
    def charge_card(ctx: Any, order: dict) -> None:
        _validate_card(order["card"])

    @rt.register_activity("Validate")
    def validate(ctx: Any, order_id: str) -> str:
        return f"valid-{order_id}"

    def _held(ctx: Any, _: Any) -> str:
        deadline = time.monotonic() + 600  # released by Site.close()
        while not gate.get("release") and time.monotonic() < deadline:
            time.sleep(0.05)
        return "done"

    if HAS_LIMITS:
        _register_limited(rt, _held)


    @rt.register_activity("Slow")
    def slow(ctx: Any, _: Any) -> str:
        deadline = time.monotonic() + 600  # released by Site.close()
        while not gate.get("release") and time.monotonic() < deadline:
            time.sleep(0.05)
        return "slow done"

    def checkout(ctx: Any, order: dict) -> Any:
        # gate["v2"] stands for a deploy that changed the code before the failed step: a
        # rerun's copied history no longer replays (docs/operations.md, "Verified rerun").
        yield ctx.schedule_activity("Validate" if gate.get("v2") else "Reserve", order["id"])
        yield ctx.schedule_activity("ChargeCard", order)
        return "never"

    def approval(ctx: Any, _: Any) -> Any:
        decision = yield ctx.wait_for_event("decision")
        return decision

    def reminder(ctx: Any, _: Any) -> Any:
        yield ctx.schedule_timer(3_600_000)
        return "reminded"

    def escalation(ctx: Any, _: Any) -> Any:
        # The timer loses the race to "ack": it must not be shown as pending.
        yield ctx.race(ctx.schedule_timer(3_600_000), ctx.wait_for_event("ack"))
        yield ctx.all([ctx.wait_for_event("close"), ctx.schedule_timer(7_200_000),
                       ctx.dequeue_event("notes")])
        return "closed"

    def batch(ctx: Any, _: Any) -> Any:
        return (yield ctx.schedule_activity("Slow", None))

    for name, fn in (("Payment", payment), ("Order", order), ("Checkout", checkout),
                     ("Approval", approval), ("Reminder", reminder), ("Batch", batch),
                     ("Escalation", escalation)):
        rt.register_orchestration(name, fn)

    counter = rt.register_actor("Counter")

    @counter.on_message
    def count(ctx: Any, state: Dict[str, Any], msg: Any) -> int:
        state["n"] = state.get("n", 0) + msg.data
        return int(state["n"])

    @rt.task()
    def fetch(url: str) -> str:
        return f"<html>{url}</html>"

    @rt.task()
    def parse(page: str) -> int:
        return len(page)

    @rt.task()
    def score(page: str) -> int:
        raise ValueError("model server unavailable")

    @rt.task()
    def report(size: int, points: int) -> str:
        return f"{size}/{points}"

    return {"fetch": fetch, "parse": parse, "score": score, "report": report}


def _subscribed(client: duroxide.Client, instance_id: str, kind: str) -> bool:
    try:
        return any(e.kind == kind for e in client.read_execution_history(instance_id, 1))
    except duroxide.NotFoundError:
        return False


def _until(predicate: Any, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the demo store did not reach the expected state")
        time.sleep(0.02)


@dataclass
class Site:
    provider: Any
    client: duroxide.Client
    runtime: duroxide.Runtime
    gate: Dict[str, bool]
    tasks: Dict[str, Any]
    graph_id: str = ""
    ids: List[str] = field(default_factory=list)

    def close(self) -> None:
        self.gate["release"] = True
        self.runtime.shutdown(3000)


def build_site(path: str) -> Site:
    provider = duroxide.SqliteProvider.open(path)
    client = duroxide.Client(provider)
    gate: Dict[str, bool] = {}
    rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20,
                                                            worker_concurrency=6))
    tasks = _register(rt, gate)
    rt.start()
    # A second worker that ran and stopped: the workers page shows it as "stopped".
    spare = duroxide.Runtime(provider, duroxide.RuntimeOptions(
        orchestration_concurrency=0, worker_concurrency=0, worker_name_hint="spare"))
    spare.start()
    spare.shutdown(1000)
    site = Site(provider, client, rt, gate, tasks)
    for i in range(3):
        client.start_orchestration(f"order-{i}", "Order",
                                   {"id": f"order-{i}", "customer": f"c{i}", "amount": 10 + i})
    client.start_orchestration("checkout-7", "Checkout",
                               {"id": "checkout-7", "card": "4111-xx", "amount": 99})
    for instance in ("approval-1", "approval-2", "approval-3", "approval-4"):
        client.start_orchestration(instance, "Approval", None)
    client.start_orchestration("reminder-1", "Reminder", None)
    client.start_orchestration("batch-1", "Batch", None)
    client.start_orchestration("escalation-1", "Escalation", None)
    limited = (("summary-1", "Summarise", None), ("summary-2", "Summarise", None),
               ("export-acme-1", "Export", "acme"), ("export-acme-2", "Export", "acme"),
               ("export-zenith-1", "Export", "zenith"), ("export-nobody", "Export", "nobody"))
    for instance_id, name, arg in limited if HAS_LIMITS else ():
        client.start_orchestration(instance_id, name, arg)
    t = tasks
    page = t["fetch"]("https://example.org")
    site.graph_id = client.submit(t["report"](t["parse"](page), t["score"](page)),
                                  instance_id="graph-1")
    for instance in ("order-0", "order-1", "order-2", "checkout-7", "graph-1"):
        client.wait_for_orchestration(instance, WAIT_MS)
    for instance in ("approval-1", "approval-2", "approval-3", "approval-4"):
        _until(lambda: _subscribed(client, instance, "ExternalSubscribed"))
    _until(lambda: _subscribed(client, "reminder-1", "TimerCreated"))
    _until(lambda: _subscribed(client, "escalation-1", "ExternalSubscribed"))
    client.raise_event("escalation-1", "ack", {"by": "on-call"})
    client.enqueue_event("escalation-1", "audit", "kept, but nobody dequeues it")
    _until(lambda: _subscribed(client, "escalation-1", "QueueSubscribed"))
    client.suspend_instance("approval-2", "waiting for the fraud team")
    client.terminate_instance("approval-3", "duplicate order")
    client.cancel_instance("approval-4", "customer changed their mind")
    client.wait_for_orchestration("approval-4", WAIT_MS)
    counter = client.actor("Counter", "visits/home")
    counter.send(2)
    counter.request(3, WAIT_MS)
    client.send_message("ghost-1", "inbox", {"sku": "A1", "qty": 2})
    client.send_message("ghost-1", "inbox", {"sku": "B7", "qty": 1})
    _until(lambda: len(client.list_dead_letters("ghost-1")) == 2)
    if HAS_LIMITS:
        _until(lambda: client.get_limit("llm").in_flight == 1
               and client.get_limit("llm").waiting == 1)
        _until(lambda: client.get_limit("tenant").in_flight == 2)
    return site
