"""The orchestration patterns of the user guide, run against both SQLite providers.

Sessions, custom status, KV, event queues, tags, metrics and tracing are covered elsewhere.
"""

from __future__ import annotations

import threading
import time

import pytest

from helpers.util import raise_until_done, wait_done, wait_until


# ---- minimal example and basic patterns ----------------------------------------------------------


def test_minimal_hello(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("SayHello")
    def say_hello(ctx, name):
        return f"Hello, {name}!"

    @runtime.register_orchestration("HelloWorkflow")
    def hello_workflow(ctx, input):
        greeting = yield ctx.schedule_activity("SayHello", input["name"])
        return greeting

    runtime.start()
    client.start_orchestration("hello-1", "HelloWorkflow", {"name": "World"})
    result = wait_done(client, "hello-1")
    assert result.status == "Completed"
    assert result.output == "Hello, World!"
    assert result.error is None


def test_sequential_pipeline(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    calls = []

    @runtime.register_activity("Extract")
    def extract(ctx, input):
        calls.append(("Extract", input))
        return {"rows": [input["n"], input["n"] + 1]}

    @runtime.register_activity("Transform")
    def transform(ctx, input):
        calls.append(("Transform", input))
        return {"rows": [r * 10 for r in input["rows"]]}

    @runtime.register_activity("Load")
    def load(ctx, input):
        calls.append(("Load", input))
        return sum(input["rows"])

    @runtime.register_orchestration("Pipeline")
    def pipeline(ctx, input):
        step1 = yield ctx.schedule_activity("Extract", input)
        step2 = yield ctx.schedule_activity("Transform", step1)
        step3 = yield ctx.schedule_activity("Load", step2)
        return step3

    runtime.start()
    client.start_orchestration("pipe-1", "Pipeline", {"n": 1})
    result = wait_done(client, "pipe-1")
    assert result.status == "Completed", result.error
    assert result.output == 30
    assert calls == [
        ("Extract", {"n": 1}),
        ("Transform", {"rows": [1, 2]}),
        ("Load", {"rows": [10, 20]}),
    ]


# ---- fan-out / fan-in ------------------------------------------------------------------------------


def test_fan_out_fan_in_results_are_ok_items_in_input_order(env):
    provider, client, make_runtime = env
    runtime = make_runtime(worker_concurrency=4)

    @runtime.register_activity("ProcessItem")
    def process_item(ctx, item):
        # Later items finish first: the join must still report input order.
        time.sleep(0.02 * (4 - item))
        return item * 10

    @runtime.register_orchestration("FanOut")
    def fan_out(ctx, input):
        tasks = [ctx.schedule_activity("ProcessItem", item) for item in input["items"]]
        results = yield ctx.all(tasks)
        return results

    runtime.start()
    client.start_orchestration("fan-1", "FanOut", {"items": [1, 2, 3]})
    result = wait_done(client, "fan-1")
    assert result.status == "Completed", result.error
    assert result.output == [{"ok": 10}, {"ok": 20}, {"ok": 30}]


def test_fan_out_failed_item_is_an_err_item_and_others_still_ok(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("ProcessItem")
    def process_item(ctx, item):
        if item == 2:
            raise Exception(f"bad {item}")
        return {"item": item}

    @runtime.register_orchestration("FanOut")
    def fan_out(ctx, input):
        results = yield ctx.all([ctx.schedule_activity("ProcessItem", i) for i in input])
        return results

    runtime.start()
    client.start_orchestration("fan-err", "FanOut", [1, 2, 3])
    result = wait_done(client, "fan-err")
    assert result.status == "Completed", result.error
    assert result.output == [
        {"ok": {"item": 1}},
        {"err": "Activity 'ProcessItem' call failed: Exception: bad 2"},
        {"ok": {"item": 3}},
    ]


def test_fan_out_of_empty_list(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("FanOutEmpty")
    def fan_out(ctx, input):
        results = yield ctx.all([])
        return {"results": results}

    runtime.start()
    client.start_orchestration("fan-empty", "FanOutEmpty", None)
    result = wait_done(client, "fan-empty")
    assert result.status == "Completed", result.error
    assert result.output == {"results": []}


def test_mixed_all_with_timer_and_event(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    work_started = threading.Event()

    @runtime.register_activity("Work")
    def work(ctx, input):
        work_started.set()
        return f"worked:{input}"

    seen = {}

    @runtime.register_orchestration("MixedAll")
    def mixed_all(ctx, input):
        act_result, timer_result, event_data = yield ctx.all([
            ctx.schedule_activity("Work", input),
            ctx.schedule_timer(1000),           # timers return {"ok": None}
            ctx.wait_for_event("approval"),     # waits return {"ok": event_data}
        ])
        seen["items"] = [act_result, timer_result, event_data]
        return act_result

    runtime.start()
    client.start_orchestration("mixed-1", "MixedAll", "job")
    # The activity is dispatched by the same turn that subscribed to the event.
    assert work_started.wait(10)
    client.raise_event("mixed-1", "approval", {"by": "alice"})
    result = wait_done(client, "mixed-1")
    assert result.status == "Completed", result.error
    assert result.output == {"ok": "worked:job"}
    act_item, timer_item, event_item = seen["items"]
    assert (act_item, event_item) == ({"ok": "worked:job"}, {"ok": {"by": "alice"}})
    assert timer_item == {"ok": None}


# ---- race ------------------------------------------------------------------------------------------


def _register_race_example(runtime, service_delay_s):
    @runtime.register_activity("FastService")
    def fast_service(ctx, input):
        deadline = time.monotonic() + service_delay_s
        while time.monotonic() < deadline:
            if ctx.is_cancelled():
                return "cancelled"
            time.sleep(0.01)
        return f"served:{input}"

    @runtime.register_orchestration("RaceExample")
    def race_example(ctx, input):
        winner = yield ctx.race(
            ctx.schedule_activity("FastService", input["data"]),
            ctx.schedule_timer(input["timeout_ms"]),
        )

        if winner["index"] == 0:
            return winner["value"]  # FastService completed first
        else:
            return "timed out"


def test_race_activity_wins(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_race_example(runtime, 0)
    runtime.start()
    client.start_orchestration("race-act", "RaceExample", {"data": "q", "timeout_ms": 5000})
    result = wait_done(client, "race-act")
    assert result.status == "Completed", result.error
    assert result.output == "served:q"


def test_race_timer_wins(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_race_example(runtime, 5)
    runtime.start()
    client.start_orchestration("race-timer", "RaceExample", {"data": "q", "timeout_ms": 50})
    result = wait_done(client, "race-timer")
    assert result.status == "Completed", result.error
    assert result.output == "timed out"


def test_race_winner_shape_index_and_value(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Echo")
    def echo(ctx, input):
        return {"echo": input}

    @runtime.register_orchestration("RaceShape")
    def race_shape(ctx, input):
        by_activity = yield ctx.race(ctx.schedule_activity("Echo", 7), ctx.schedule_timer(10000))
        by_timer = yield ctx.race(ctx.wait_for_event("never"), ctx.schedule_timer(10))
        return [by_activity, by_timer]

    runtime.start()
    client.start_orchestration("race-shape", "RaceShape", None)
    result = wait_done(client, "race-shape")
    assert result.status == "Completed", result.error
    by_activity, by_timer = result.output
    assert by_activity == {"index": 0, "value": {"echo": 7}}
    assert by_timer["index"] == 1
    assert by_timer == {"index": 1, "value": None}


def test_race_failed_activity_value_is_its_error_text(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Broken")
    def broken(ctx, input):
        raise ValueError("nope")

    @runtime.register_orchestration("RaceBroken")
    def race_broken(ctx, input):
        winner = yield ctx.race(ctx.schedule_activity("Broken", None), ctx.schedule_timer(10000))
        return winner

    runtime.start()
    client.start_orchestration("race-broken", "RaceBroken", None)
    result = wait_done(client, "race-broken")
    assert result.status == "Completed", result.error
    assert result.output == {"index": 0,
                             "value": "Activity 'Broken' call failed: ValueError: nope"}


def test_race_of_three_tasks(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Quick")
    def quick(ctx, input):
        return "quick"

    @runtime.register_orchestration("Race3")
    def race3(ctx, input):
        timers = yield ctx.race(ctx.schedule_timer(5000), ctx.schedule_timer(20),
                                ctx.schedule_timer(4000))
        mixed = yield ctx.race(ctx.schedule_timer(5000), ctx.wait_for_event("never"),
                               ctx.schedule_activity("Quick", None))
        return [timers, mixed]

    runtime.start()
    client.start_orchestration("race3", "Race3", None)
    result = wait_done(client, "race3")
    assert result.status == "Completed", result.error
    timers, mixed = result.output
    assert mixed == {"index": 2, "value": "quick"}
    assert timers["index"] == 1
    assert timers == {"index": 1, "value": None}


def test_all_nested_inside_race(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Part")
    def part(ctx, input):
        return input.upper()

    @runtime.register_orchestration("AllInRace")
    def all_in_race(ctx, input):
        winner = yield ctx.race(
            ctx.all([ctx.schedule_activity("Part", "a"), ctx.schedule_activity("Part", "b")]),
            ctx.schedule_timer(10000),
        )
        return winner

    runtime.start()
    client.start_orchestration("all-in-race", "AllInRace", None)
    result = wait_done(client, "all-in-race")
    assert result.status == "Completed", result.error
    assert result.output == {"index": 0, "value": [{"ok": "A"}, {"ok": "B"}]}


def test_race_nested_inside_all_and_race_inside_race(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Part")
    def part(ctx, input):
        return input * 2

    @runtime.register_orchestration("RaceInAll")
    def race_in_all(ctx, input):
        joined = yield ctx.all([
            ctx.race(ctx.schedule_activity("Part", 1), ctx.schedule_timer(10000)),
            ctx.schedule_activity("Part", 2),
        ])
        nested = yield ctx.race(
            ctx.race(ctx.schedule_timer(10000), ctx.schedule_activity("Part", 3)),
            ctx.schedule_timer(10000),
        )
        return {"joined": joined, "nested": nested}

    runtime.start()
    client.start_orchestration("race-in-all", "RaceInAll", None)
    result = wait_done(client, "race-in-all")
    assert result.status == "Completed", result.error
    assert result.output == {
        "joined": [{"ok": {"index": 0, "value": 2}}, {"ok": 4}],
        "nested": {"index": 0, "value": {"index": 1, "value": 6}},
    }


# ---- timers and events -----------------------------------------------------------------------------


def test_durable_timer_delays_the_next_step(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    sent = []

    @runtime.register_activity("SendReminder")
    def send_reminder(ctx, input):
        sent.append(input)
        return None

    @runtime.register_orchestration("DelayedNotification")
    def delayed_notification(ctx, input):
        before = yield ctx.utc_now()
        fired = yield ctx.schedule_timer(input["delay_ms"])
        after = yield ctx.utc_now()
        yield ctx.schedule_activity("SendReminder", input)
        return {"status": "done", "waited_ms": after - before, "timer_value": fired}

    runtime.start()
    client.start_orchestration("timer-1", "DelayedNotification", {"delay_ms": 200})
    result = wait_done(client, "timer-1")
    assert result.status == "Completed", result.error
    assert result.output["status"] == "done"
    assert result.output["waited_ms"] >= 200  # a durable timer never fires early
    assert sent == [{"delay_ms": 200}]
    assert result.output["timer_value"] is None  # a timer yields None


def _register_approval(runtime, executed):
    @runtime.register_activity("RequestApproval")
    def request_approval(ctx, input):
        return "requested"

    @runtime.register_activity("Execute")
    def execute(ctx, input):
        executed.append(input)
        return "executed"

    @runtime.register_orchestration("ApprovalWorkflow")
    def approval_workflow(ctx, input):
        yield ctx.schedule_activity("RequestApproval", input)
        ctx.trace_info("waiting for approval...")

        approval = yield ctx.wait_for_event("approval")

        if approval["approved"]:
            yield ctx.schedule_activity("Execute", input)
            return "approved"
        else:
            return "rejected"


@pytest.mark.parametrize("approved,expected", [(True, "approved"), (False, "rejected")])
def test_external_event_approval(env, approved, expected):
    provider, client, make_runtime = env
    runtime = make_runtime()
    executed = []
    _register_approval(runtime, executed)
    runtime.start()
    client.start_orchestration("instance-1", "ApprovalWorkflow", {"order": 9})
    result = raise_until_done(client, "instance-1", "approval", {"approved": approved})
    assert result.status == "Completed", result.error
    assert result.output == expected
    assert executed == ([{"order": 9}] if approved else [])


# ---- sub-orchestrations ----------------------------------------------------------------------------


def _register_parent_child(runtime):
    @runtime.register_activity("DoWork")
    def do_work(ctx, input):
        return {"worked": input["id"], "in": ctx.orchestration_name}

    @runtime.register_orchestration("Parent")
    def parent(ctx, input):
        child_result = yield ctx.schedule_sub_orchestration("Child", input)
        return {"parent_result": child_result}

    @runtime.register_orchestration("ParentWithId")
    def parent_with_id(ctx, input):
        result = yield ctx.schedule_sub_orchestration_with_id(
            "Child", f"child-{input['id']}", input
        )
        return {"parent_result": result}

    @runtime.register_orchestration("Child")
    def child(ctx, input):
        r = yield ctx.schedule_activity("DoWork", input)
        return r


def test_sub_orchestration_default_id(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_parent_child(runtime)
    runtime.start()
    client.start_orchestration("parent-1", "Parent", {"id": 1})
    result = wait_done(client, "parent-1")
    assert result.status == "Completed", result.error
    assert result.output == {"parent_result": {"worked": 1, "in": "Child"}}


def test_sub_orchestration_with_explicit_id(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_parent_child(runtime)
    runtime.start()
    client.start_orchestration("parent-7", "ParentWithId", {"id": 7})
    result = wait_done(client, "parent-7")
    assert result.status == "Completed", result.error
    assert result.output == {"parent_result": {"worked": 7, "in": "Child"}}
    child = client.get_status("child-7")
    assert child.status == "Completed"
    assert child.output == {"worked": 7, "in": "Child"}


def test_failed_child_raises_in_parent_which_can_catch_it(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("BadChild")
    def bad_child(ctx, input):
        yield ctx.schedule_timer(1)
        raise Exception(f"child broke on {input}")

    @runtime.register_orchestration("CatchingParent")
    def catching_parent(ctx, input):
        try:
            yield ctx.schedule_sub_orchestration("BadChild", "x")
        except Exception as e:  # noqa: BLE001 - the guide's pattern
            return {"caught": str(e), "type": type(e).__name__}
        return "not reached"

    @runtime.register_orchestration("LettingParent")
    def letting_parent(ctx, input):
        result = yield ctx.schedule_sub_orchestration_with_id("BadChild", "bad-child-2", "y")
        return result

    runtime.start()
    client.start_orchestration("catching", "CatchingParent", None)
    client.start_orchestration("letting", "LettingParent", None)

    caught = wait_done(client, "catching")
    assert caught.status == "Completed", caught.error
    assert caught.output["type"] == "Exception"
    assert "child broke on x" in caught.output["caught"]

    letting = wait_done(client, "letting")
    assert letting.status == "Failed"
    assert "child broke on y" in letting.error
    child = client.get_status("bad-child-2")
    assert child.status == "Failed"
    assert "child broke on y" in child.error


def test_fire_and_forget_start_orchestration(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("ProvisionVM")
    def provision_vm(ctx, input):
        return {"vm": input["instance_id"]}

    @runtime.register_activity("Watch")
    def watch(ctx, input):
        return f"watching {input['instance_id']}"

    @runtime.register_orchestration("InstanceMonitor")
    def instance_monitor(ctx, input):
        yield ctx.schedule_timer(50)
        r = yield ctx.schedule_activity("Watch", input)
        return r

    @runtime.register_orchestration("CreateInstance")
    def create_instance(ctx, input):
        yield ctx.schedule_activity("ProvisionVM", input)

        # Launch monitor — runs independently
        started = yield ctx.start_orchestration(
            "InstanceMonitor",
            f"monitor-{input['instance_id']}",
            {"instance_id": input["instance_id"]},
        )

        return {"status": "provisioned", "start_result": started}

    runtime.start()
    client.start_orchestration("create-1", "CreateInstance", {"instance_id": "vm1"})
    result = wait_done(client, "create-1")
    assert result.status == "Completed", result.error
    assert result.output == {"status": "provisioned", "start_result": None}
    monitor = wait_done(client, "monitor-vm1")
    assert monitor.status == "Completed", monitor.error
    assert monitor.output == "watching vm1"


# ---- continue-as-new -------------------------------------------------------------------------------


def test_continue_as_new_counts_to_n_with_increasing_execution_ids(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    execution_ids = []
    checks = []

    @runtime.register_activity("CheckHealth")
    def check_health(ctx, target):
        checks.append((target, ctx.execution_id))
        return {"status": "healthy"}

    @runtime.register_orchestration("Monitor")
    def monitor(ctx, input):
        state = input.get("state", {"check_count": 0})
        execution_ids.append(ctx.execution_id)

        health = yield ctx.schedule_activity("CheckHealth", input["target"])
        ctx.trace_info(f"health check #{state['check_count']}: {health['status']}")
        if state["check_count"] + 1 >= input["n"]:
            return {"checks": state["check_count"] + 1, "execution_id": ctx.execution_id}

        yield ctx.schedule_timer(5)
        yield ctx.continue_as_new({
            "target": input["target"],
            "n": input["n"],
            "state": {"check_count": state["check_count"] + 1},
        })
        raise AssertionError("continue_as_new must never resume")

    runtime.start()
    client.start_orchestration("monitor-1", "Monitor", {"target": "db", "n": 4})
    result = wait_done(client, "monitor-1")
    assert result.status == "Completed", result.error
    assert result.output == {"checks": 4, "execution_id": 4}
    assert checks == [("db", 1), ("db", 2), ("db", 3), ("db", 4)]
    assert execution_ids == sorted(execution_ids)
    assert set(execution_ids) == {1, 2, 3, 4}


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


# ---- versioning ------------------------------------------------------------------------------------


def test_versioning_latest_for_new_starts_and_pinned_start_runs_v1(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    calls = []

    @runtime.register_activity("Validate")
    def validate(ctx, input):
        calls.append(("Validate", ctx.instance_id, ctx.orchestration_version))
        return True

    @runtime.register_activity("Work")
    def work(ctx, input):
        calls.append(("Work", ctx.instance_id, ctx.orchestration_version))
        return f"work:{input}"

    @runtime.register_orchestration("MyWorkflow")
    def my_workflow_v1(ctx, input):
        # v1.0.0 — original
        r = yield ctx.schedule_activity("Work", input)
        return r

    @runtime.register_orchestration_versioned("MyWorkflow", "1.0.1")
    def my_workflow_v2(ctx, input):
        # v1.0.1 — with validation
        yield ctx.schedule_activity("Validate", input)
        r = yield ctx.schedule_activity("Work", input)
        return r

    runtime.start()
    client.start_orchestration("v-new", "MyWorkflow", "a")
    client.start_orchestration_versioned("v-old", "MyWorkflow", "b", "1.0.0")
    new = wait_done(client, "v-new")
    old = wait_done(client, "v-old")
    assert new.status == "Completed", new.error
    assert old.status == "Completed", old.error
    assert new.output == "work:a"
    assert old.output == "work:b"
    assert sorted(c for c in calls if c[1] == "v-new") == [
        ("Validate", "v-new", "1.0.1"), ("Work", "v-new", "1.0.1")]
    assert [c for c in calls if c[1] == "v-old"] == [("Work", "v-old", "1.0.0")]


def test_orchestration_version_visible_on_context(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    def v1(ctx, input):
        return {"version": ctx.orchestration_version, "name": ctx.orchestration_name,
                "instance": ctx.instance_id, "execution": ctx.execution_id}

    def v2(ctx, input):
        return {"version": ctx.orchestration_version}

    runtime.register_orchestration("Ver", v1)
    runtime.register_orchestration_versioned("Ver", "2.0.0", v2)
    runtime.start()
    client.start_orchestration("ver-latest", "Ver")
    client.start_orchestration_versioned("ver-pinned", "Ver", None, "1.0.0")
    assert wait_done(client, "ver-latest").output == {"version": "2.0.0"}
    assert wait_done(client, "ver-pinned").output == {
        "version": "1.0.0", "name": "Ver", "instance": "ver-pinned", "execution": 1}


# ---- small patterns --------------------------------------------------------------------------------


def test_non_generator_orchestration_completes_at_once(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    activity_calls = []

    @runtime.register_activity("Unused")
    def unused(ctx, input):
        activity_calls.append(input)
        return None

    @runtime.register_orchestration("Plain")
    def plain(ctx, input):
        return {"doubled": input * 2}

    runtime.start()
    client.start_orchestration("plain-1", "Plain", 21)
    result = wait_done(client, "plain-1")
    assert result.status == "Completed", result.error
    assert result.output == {"doubled": 42}
    assert activity_calls == []


def _register_blocks(runtime):
    @runtime.register_activity("Step")
    def step(ctx, input):
        return f"step:{input}"

    # Pattern: wrap multi-step logic as a sub-orchestration
    @runtime.register_orchestration("BlockA")
    def block_a(ctx, input):
        first = yield ctx.schedule_activity("Step", "A1")
        if "step" in first:
            second = yield ctx.schedule_activity("Step", "A2")
            return f"A:[{first},{second}]"
        return "A:fallback"

    @runtime.register_orchestration("BlockB")
    def block_b(ctx, input):
        yield ctx.schedule_timer(5)
        result = yield ctx.schedule_activity("Step", "B1")
        return f"B:[timer,{result}]"

    # Parent: join/race sub-orchestration descriptors
    @runtime.register_orchestration("Parent")
    def parent(ctx, input):
        # Join multiple multi-step blocks
        a, b = yield ctx.all([
            ctx.schedule_sub_orchestration("BlockA", ""),
            ctx.schedule_sub_orchestration("BlockB", ""),
        ])
        return f"{a},{b}"

    @runtime.register_orchestration("RaceParent")
    def race_parent(ctx, input):
        winner = yield ctx.race(
            ctx.schedule_sub_orchestration("BlockA", ""),
            ctx.schedule_timer(10000),
        )
        return winner


def test_multi_step_blocks_as_sub_orchestrations(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_blocks(runtime)
    runtime.start()
    client.start_orchestration("blocks-join", "Parent", None)
    client.start_orchestration("blocks-race", "RaceParent", None)
    joined = wait_done(client, "blocks-join")
    assert joined.status == "Completed", joined.error
    # all() items are ok/err dicts, so the guide's f-string formats the dicts.
    assert joined.output == ("{'ok': 'A:[step:A1,step:A2]'},"
                             "{'ok': 'B:[timer,step:B1]'}")
    raced = wait_done(client, "blocks-race")
    assert raced.status == "Completed", raced.error
    assert raced.output == {"index": 0, "value": "A:[step:A1,step:A2]"}


def test_determinism_helpers_utc_now_and_new_guid(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    seen_by_activity = []

    @runtime.register_activity("Record")
    def record(ctx, input):
        seen_by_activity.append(input)
        return None

    @runtime.register_orchestration("Helpers")
    def helpers(ctx, input):
        now = yield ctx.utc_now()
        g1 = yield ctx.new_guid()
        g2 = yield ctx.new_guid()
        # The activity sees the first-run values; the output is built on a later replay.
        yield ctx.schedule_activity("Record", {"now": now, "g1": g1, "g2": g2})
        return {"now": now, "g1": g1, "g2": g2}

    before_ms = int(time.time() * 1000)
    runtime.start()
    client.start_orchestration("helpers-1", "Helpers", None)
    result = wait_done(client, "helpers-1")
    after_ms = int(time.time() * 1000)
    assert result.status == "Completed", result.error
    out = result.output
    assert isinstance(out["now"], int) and not isinstance(out["now"], bool)
    assert before_ms - 1000 <= out["now"] <= after_ms + 1000
    for g in (out["g1"], out["g2"]):
        assert isinstance(g, str) and len(g) == 36
        assert [len(p) for p in g.split("-")] == [8, 4, 4, 4, 12]
    assert out["g1"] != out["g2"]
    assert seen_by_activity == [out]  # replay returns the recorded values


def test_activity_get_client_starts_another_orchestration(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("TriggerCleanup")
    def trigger_cleanup(ctx, input):
        client = ctx.get_client()
        client.start_orchestration(
            f"cleanup-{input['id']}",
            "CleanupWorkflow",
            {"resource_id": input["id"]},
        )
        return {"triggered": True}

    @runtime.register_orchestration("CleanupWorkflow")
    def cleanup_workflow(ctx, input):
        return {"cleaned": input["resource_id"]}

    @runtime.register_orchestration("Trigger")
    def trigger(ctx, input):
        r = yield ctx.schedule_activity("TriggerCleanup", input)
        return r

    runtime.start()
    client.start_orchestration("trigger-1", "Trigger", {"id": 5})
    result = wait_done(client, "trigger-1")
    assert result.status == "Completed", result.error
    assert result.output == {"triggered": True}
    cleanup = wait_done(client, "cleanup-5")
    assert cleanup.status == "Completed", cleanup.error
    assert cleanup.output == {"cleaned": 5}


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
