"""Durable timers, external events and event queues.

An expense-approval workflow waits for an "approval" event and races it against a durable
timer: one request is approved in time, the other expires. A second orchestration reads an
event queue, whose messages are buffered even when they arrive before it starts listening.

    PYTHONPATH=python python3 examples/timers_and_events.py
"""
from typing import Any

from duroxide import ActivityContext, Client, OrchestrationContext, Runtime, SqliteProvider

provider = SqliteProvider.in_memory()
client = Client(provider)
runtime = Runtime(provider)


@runtime.register_activity("NotifyApprover")
def notify_approver(ctx: ActivityContext, request: Any) -> Any:
    return f"mail sent to {request['approver']} about {request['amount']} EUR"


@runtime.register_activity("Reimburse")
def reimburse(ctx: ActivityContext, request: Any) -> Any:
    return f"paid {request['amount']} EUR to {request['employee']}"


@runtime.register_orchestration("ExpenseApproval")
def expense_approval(ctx: OrchestrationContext, request: Any) -> Any:
    yield ctx.schedule_activity("NotifyApprover", request)
    started = yield ctx.utc_now()

    # Tell the outside world we are listening. The status is committed in the same turn as the
    # event subscription below, so once a client sees it, raise_event will not be missed.
    ctx.set_custom_status("waiting for approval")
    winner = yield ctx.race(
        ctx.wait_for_event("approval"),
        ctx.schedule_timer(request["timeout_ms"]),
    )
    waited_ms = (yield ctx.utc_now()) - started

    if winner["index"] == 1:
        ctx.set_custom_status("expired")
        return {"outcome": "expired", "waited_ms_at_least": request["timeout_ms"]}
    decision = winner["value"]  # the object the client passed to raise_event
    if not decision["approved"]:
        ctx.set_custom_status("rejected")
        return {"outcome": "rejected", "by": decision["by"]}
    ctx.set_custom_status("paying")
    receipt = yield ctx.schedule_activity("Reimburse", request)
    ctx.set_custom_status("done")
    return {"outcome": "approved", "by": decision["by"], "receipt": receipt,
            "waited_under_timeout": waited_ms < request["timeout_ms"]}


@runtime.register_orchestration("Reminder")
def reminder(ctx: OrchestrationContext, input: Any) -> Any:
    before = yield ctx.utc_now()
    yield ctx.schedule_timer(input["delay_ms"])  # durable: survives restarts
    after = yield ctx.utc_now()
    return {"message": input["message"],
            "slept_at_least_delay": after - before >= input["delay_ms"]}


@runtime.register_orchestration("Inbox")
def inbox(ctx: OrchestrationContext, count: Any) -> Any:
    received = []
    for _ in range(count):
        message = yield ctx.dequeue_event("inbox")  # next message, in arrival order
        received.append(message)
    return received


def wait_until_listening(instance_id: str) -> None:
    """Blocks until the orchestration reports that its event subscription exists."""
    version = 0
    while True:
        status = client.wait_for_status_change(instance_id, version, 20, 5000)
        if status is None:
            raise TimeoutError(f"{instance_id} never started listening")
        if status.custom_status == "waiting for approval":
            return
        if status.status != "Running":  # ended without ever listening
            raise RuntimeError(f"{instance_id} ended: {status.status} {status.error}")
        version = status.custom_status_version


runtime.start()
try:
    base = {"employee": "bob", "approver": "alice", "amount": 42}

    client.start_orchestration("expense-1", "ExpenseApproval", dict(base, timeout_ms=5000))
    wait_until_listening("expense-1")
    client.raise_event("expense-1", "approval", {"approved": True, "by": "alice"})
    result = client.wait_for_orchestration("expense-1", 10000)
    print("expense-1:", result.status, result.output, "| custom status:", result.custom_status)

    client.start_orchestration("expense-2", "ExpenseApproval", dict(base, timeout_ms=300))
    result = client.wait_for_orchestration("expense-2", 10000)  # nobody answers
    print("expense-2:", result.status, result.output, "| custom status:", result.custom_status)

    client.start_orchestration("reminder-1", "Reminder", {"message": "stand up", "delay_ms": 250})
    print("reminder-1:", client.wait_for_orchestration("reminder-1", 10000).output)

    # Queue messages are buffered: they may be sent before the orchestration dequeues them.
    client.start_orchestration("inbox-1", "Inbox", 3)
    for n, text in enumerate(["first", "second", "third"], 1):
        client.enqueue_event("inbox-1", "inbox", {"n": n, "text": text})
    print("inbox-1:", client.wait_for_orchestration("inbox-1", 10000).output)
finally:
    runtime.shutdown(2000)
