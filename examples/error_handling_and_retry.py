"""Error handling, compensation and retry policies.

  * A trip booking (saga): when the payment fails, the bookings already made are undone in
    reverse order and the orchestration still completes with a clear outcome.
  * A flaky activity retried with exponential backoff until it succeeds.
  * A retry policy that runs out of attempts: the last error is raised in the orchestration.
  * A per-attempt timeout: a hung attempt is abandoned with "timeout: activity timed out".
  * An uncaught error: the instance ends Failed with the Python traceback as its error.

    PYTHONPATH=python python3 examples/error_handling_and_retry.py
"""

import time
from typing import Any, Dict

from duroxide import (
    ActivityContext,
    Client,
    OrchestrationContext,
    OrchestrationResult,
    Runtime,
    SqliteProvider,
)

provider = SqliteProvider.in_memory()
client = Client(provider)
runtime = Runtime(provider)
calls: Dict[Any, int] = {}  # attempts per (instance, activity); activities run in this process


def count_call(ctx: ActivityContext) -> Any:
    key = (ctx.instance_id, ctx.activity_name)
    calls[key] = calls.get(key, 0) + 1
    return calls[key]


@runtime.register_activity("Book")
def book(ctx: ActivityContext, what: Any) -> Any:
    return f"{what}-confirmation"


@runtime.register_activity("CancelBooking")
def cancel_booking(ctx: ActivityContext, confirmation: Any) -> Any:
    return f"cancelled {confirmation}"


@runtime.register_activity("Charge")
def charge(ctx: ActivityContext, payment: Any) -> Any:
    if payment["amount"] > payment["limit"]:
        raise ValueError(f"card declined: {payment['amount']} exceeds limit {payment['limit']}")
    return "charged"


@runtime.register_activity("FlakyApi")
def flaky_api(ctx: ActivityContext, fail_times: Any) -> Any:
    attempt = count_call(ctx)
    if attempt <= fail_times:
        raise ConnectionError(f"attempt {attempt}: service unavailable")
    return f"ok on attempt {attempt}"


@runtime.register_activity("HangingApi")
def hanging_api(ctx: ActivityContext, seconds: Any) -> Any:
    count_call(ctx)
    deadline = time.time() + seconds
    while time.time() < deadline:
        if ctx.is_cancelled():  # the timed-out attempt is cancelled cooperatively
            return "gave up"
        time.sleep(0.01)
    return "finally answered"


@runtime.register_orchestration("BookTrip")
def book_trip(ctx: OrchestrationContext, trip: Any) -> Any:
    undo = []  # compensations, run in reverse order on failure
    try:
        flight = yield ctx.schedule_activity("Book", "flight")
        undo.append(flight)
        hotel = yield ctx.schedule_activity("Book", "hotel")
        undo.append(hotel)
        yield ctx.schedule_activity("Charge", trip)
        return {"outcome": "booked", "bookings": undo}
    except Exception as error:
        compensated = []
        for confirmation in reversed(undo):
            compensated.append((yield ctx.schedule_activity("CancelBooking", confirmation)))
        return {"outcome": "rolled back", "reason": str(error), "compensations": compensated}


@runtime.register_orchestration("CallWithRetry")
def call_with_retry(ctx: OrchestrationContext, input: Any) -> Any:
    policy = {
        "max_attempts": input["max_attempts"],  # total tries, including the first
        "backoff": "exponential",               # 100 ms, 200 ms, 400 ms ... (max 30 s)
    }
    try:
        answer = yield ctx.schedule_activity_with_retry("FlakyApi", input["fail_times"], policy)
        return {"answer": answer}
    except Exception as error:
        return {"gave_up": str(error)}


@runtime.register_orchestration("CallWithTimeout")
def call_with_timeout(ctx: OrchestrationContext, input: Any) -> Any:
    # camelCase keys and backoff_strategy work too.
    policy = {"maxAttempts": 3, "timeoutMs": 200, "backoff_strategy": "none"}
    try:
        return (yield ctx.schedule_activity_with_retry("HangingApi", input, policy))
    except Exception as error:
        return f"failed: {error}"


@runtime.register_orchestration("BadPolicy")
def bad_policy(ctx: OrchestrationContext, input: Any) -> Any:
    try:
        ctx.schedule_activity_with_retry("FlakyApi", 0, {"max_attempts": 0})
    except ValueError as error:  # invalid policies are rejected where they are built
        return f"rejected: {error}"


@runtime.register_orchestration("Unhandled")
def unhandled(ctx: OrchestrationContext, input: Any) -> Any:
    yield ctx.schedule_activity("Charge", {"amount": 500, "limit": 100})
    return "not reached"


def run(instance_id: str, name: str, input: Any = None) -> OrchestrationResult:
    client.start_orchestration(instance_id, name, input)
    return client.wait_for_orchestration(instance_id, 15000)


runtime.start()
try:
    print("trip-ok:  ", run("trip-ok", "BookTrip", {"amount": 80, "limit": 100}).output)
    print("trip-fail:", run("trip-fail", "BookTrip", {"amount": 800, "limit": 100}).output)

    print("retry-ok: ",
          run("retry-ok", "CallWithRetry", {"fail_times": 2, "max_attempts": 4}).output)
    print("retry-out:",
          run("retry-out", "CallWithRetry", {"fail_times": 9, "max_attempts": 3}).output,
          "| attempts:", calls[("retry-out", "FlakyApi")])

    timed = run("timeout-1", "CallWithTimeout", 5)
    print("timeout-1:", timed.output, "| attempts:", calls[("timeout-1", "HangingApi")])

    print("bad-policy:", run("bad-policy", "BadPolicy").output)

    failed = run("unhandled-1", "Unhandled")
    # (error is the Python traceback text of the uncaught exception)
    last_line = (failed.error or "").strip().splitlines()[-1]
    print("unhandled-1:", failed.status, "| last line of error:", last_line)
finally:
    runtime.shutdown(2000)
