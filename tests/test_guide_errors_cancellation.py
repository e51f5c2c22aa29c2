"""User guide patterns, part 3: error handling with compensation, activity retries (policy
keys, backoff, per-attempt timeout) and cancellation (race losers, cancel_instance).

See test_guide_composition.py for the index of the guide tests.
Every test runs on each provider of the `env` fixture (in-memory SQLite, file SQLite and
PostgreSQL).
"""

from __future__ import annotations

import threading
import time

import pytest

from helpers.util import wait_done, wait_until


# ---- error handling and retries --------------------------------------------------------------------


def test_error_handling_with_compensation(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    cleanups = []

    @runtime.register_activity("RiskyCall")
    def risky_call(ctx, input):
        raise Exception("nope")

    @runtime.register_activity("Cleanup")
    def cleanup(ctx, input):
        cleanups.append(input)
        return "cleaned"

    @runtime.register_orchestration("SafeWorkflow")
    def safe_workflow(ctx, input):
        try:
            result = yield ctx.schedule_activity("RiskyCall", input)
            return result
        except Exception as e:
            ctx.trace_error(f"activity failed: {e}")
            yield ctx.schedule_activity("Cleanup", {"error": str(e)})
            return {"status": "failed", "error": str(e)}

    runtime.start()
    client.start_orchestration("safe-1", "SafeWorkflow", {"x": 1})
    result = wait_done(client, "safe-1")
    expected_error = "Activity 'RiskyCall' call failed: Exception: nope"
    assert result.status == "Completed", result.error
    assert result.output == {"status": "failed", "error": expected_error}
    assert cleanups == [{"error": expected_error}]


def _register_flakey(runtime, fail_times, attempts):
    @runtime.register_activity("FlakeyApi")
    def flakey_api(ctx, input):
        attempts.append(time.monotonic())
        n = len(attempts)
        if n <= fail_times:
            raise Exception(f"fail {n}")
        return f"ok on {n}"

    @runtime.register_orchestration("RetryWorkflow")
    def retry_workflow(ctx, input):
        try:
            result = yield ctx.schedule_activity_with_retry("FlakeyApi", input["data"],
                                                           input["policy"])
        except Exception as e:  # noqa: BLE001
            return {"error": str(e)}
        return result


@pytest.mark.parametrize("policy", [
    {"max_attempts": 3, "backoff": "exponential", "timeout_ms": 5000, "total_timeout_ms": 30000},
    {"maxAttempts": 3, "backoff": "linear", "timeoutMs": 5000, "totalTimeoutMs": 30000},
    {"max_attempts": 3, "backoff_strategy": "none"},
    {"maxAttempts": 3, "backoffStrategy": "exponential"},
], ids=["guide", "camel-linear", "backoff_strategy-none", "camel-backoffStrategy"])
def test_retry_succeeds_on_third_attempt(env, policy):
    provider, client, make_runtime = env
    runtime = make_runtime()
    attempts = []
    _register_flakey(runtime, 2, attempts)
    runtime.start()
    client.start_orchestration("retry-ok", "RetryWorkflow", {"data": 1, "policy": policy})
    result = wait_done(client, "retry-ok")
    assert result.status == "Completed", result.error
    assert result.output == "ok on 3"
    assert len(attempts) == 3


@pytest.mark.parametrize("policy,expected_attempts", [
    ({"max_attempts": 3, "backoff": "none"}, 3),
    ({"maxAttempts": 2, "backoff_strategy": "none"}, 2),
])
def test_retry_exhausted_raises_last_attempt_error(env, policy, expected_attempts):
    provider, client, make_runtime = env
    runtime = make_runtime()
    attempts = []
    _register_flakey(runtime, 100, attempts)
    runtime.start()
    client.start_orchestration("retry-fail", "RetryWorkflow", {"data": 1, "policy": policy})
    result = wait_done(client, "retry-fail")
    assert result.status == "Completed", result.error
    assert result.output == {
        "error": f"Activity 'FlakeyApi' call failed: Exception: fail {expected_attempts}"
    }
    assert len(attempts) == expected_attempts


def test_retry_fixed_backoff_from_backoff_strategy_key_waits_between_attempts(env):
    # The guide's key "backoff_strategy" must be honoured: "fixed" waits 1 s between attempts
    # (the core default would be exponential from 100 ms).
    provider, client, make_runtime = env
    runtime = make_runtime()
    attempts = []
    _register_flakey(runtime, 1, attempts)
    runtime.start()
    policy = {"max_attempts": 2, "backoff_strategy": "fixed"}
    client.start_orchestration("retry-fixed", "RetryWorkflow", {"data": 1, "policy": policy})
    result = wait_done(client, "retry-fixed")
    assert result.status == "Completed", result.error
    assert result.output == "ok on 2"
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= 0.9


def test_retry_per_attempt_timeout(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    calls = []

    @runtime.register_activity("Slow")
    def slow(ctx, input):
        calls.append(input)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not ctx.is_cancelled():
            time.sleep(0.01)
        return "late"

    @runtime.register_orchestration("TimeoutWorkflow")
    def timeout_workflow(ctx, input):
        try:
            yield ctx.schedule_activity_with_retry("Slow", input, {
                "max_attempts": 3, "timeout_ms": 100, "backoff": "none",
            })
        except Exception as e:  # noqa: BLE001
            return {"error": str(e)}
        return "no timeout"

    runtime.start()
    client.start_orchestration("retry-timeout", "TimeoutWorkflow", "x")
    result = wait_done(client, "retry-timeout")
    assert result.status == "Completed", result.error
    assert result.output == {"error": "timeout: activity timed out"}
    assert calls == ["x"]  # a timed-out attempt is not retried


# ---- cancellation ----------------------------------------------------------------------------------


def test_race_loser_activity_sees_is_cancelled(env):
    provider, client, make_runtime = env
    runtime = make_runtime(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=2000)
    started = threading.Event()
    cancelled = threading.Event()
    outcome = []

    @runtime.register_activity("LongRunning")
    def long_running(ctx, input):
        started.set()
        for i in range(100):
            if ctx.is_cancelled():
                ctx.trace_info("cancelled, cleaning up")
                cancelled.set()
                outcome.append("cancelled")
                return "cancelled"
            time.sleep(0.1)  # do work
        outcome.append("done")
        return "done"

    @runtime.register_orchestration("RaceLoser")
    def race_loser(ctx, input):
        winner = yield ctx.race(
            ctx.schedule_activity("LongRunning", None),
            ctx.schedule_timer(100),
        )
        return winner

    runtime.start()
    client.start_orchestration("loser-1", "RaceLoser", None)
    result = wait_done(client, "loser-1")
    assert result.status == "Completed", result.error
    assert result.output["index"] == 1
    assert started.wait(5)
    # worker_lock_timeout_ms=2000: detection takes about 1 s; allow a generous margin.
    assert cancelled.wait(6), "the losing activity never saw ctx.is_cancelled()"
    assert outcome == ["cancelled"]
    assert result.output == {"index": 1, "value": None}  # a timer's value is None


def test_cancel_instance_fails_it_and_its_running_child(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Sleeper")
    def sleeper(ctx, input):
        yield ctx.wait_for_event("never")
        return "woke"

    @runtime.register_orchestration("CancelParent")
    def cancel_parent(ctx, input):
        r = yield ctx.schedule_sub_orchestration_with_id("Sleeper", "cancel-child", None)
        return r

    runtime.start()
    client.start_orchestration("cancel-parent", "CancelParent", None)
    assert wait_until(lambda: client.get_status("cancel-child").status == "Running")
    client.cancel_instance("cancel-parent", "user stop")
    parent = wait_done(client, "cancel-parent")
    assert parent.status == "Failed"
    assert parent.output is None
    child = wait_done(client, "cancel-child")
    assert child.status == "Failed"
    assert child.error.startswith("canceled:"), child.error
    # Once the child's failure has been reported back, the parent's result must be unchanged.
    wait_until(lambda: client.get_status("cancel-parent").error != parent.error, timeout_s=0.5)
    final = client.get_status("cancel-parent")
    assert final.status == "Failed"
    assert final.error == "canceled: user stop"


def test_cancel_instance_without_reason_and_on_completed_instance(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Waiter")
    def waiter(ctx, input):
        yield ctx.wait_for_event("go")
        return "went"

    @runtime.register_orchestration("Quick")
    def quick(ctx, input):
        return "quick"

    runtime.start()
    client.start_orchestration("waiter", "Waiter", None)
    client.start_orchestration("quick", "Quick", None)
    assert wait_done(client, "quick").output == "quick"
    assert wait_until(lambda: client.get_status("waiter").status == "Running")
    client.cancel_instance("waiter")
    client.cancel_instance("quick", "too late")  # a no-op on a completed instance
    client.cancel_instance("missing-instance", "nobody")  # a no-op on a missing instance
    waited = wait_done(client, "waiter")
    assert waited.status == "Failed"
    assert waited.error == "canceled: "
    quick_after = client.get_status("quick")
    assert quick_after.status == "Completed"
    assert quick_after.output == "quick"
    assert client.get_status("missing-instance").status == "NotFound"


from helpers.styles import add_async_variants  # noqa: E402

add_async_variants(globals())
