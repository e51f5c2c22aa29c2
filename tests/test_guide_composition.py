"""User guide patterns, part 1: the minimal example, a sequential pipeline, fan-out/fan-in
with `ctx.all` and `ctx.race` (including nesting one inside the other).

The other guide patterns are in test_guide_workflows.py and test_guide_errors_cancellation.py;
sessions, custom status, KV, event queues, tags, metrics and tracing are covered elsewhere.
Every test runs on each provider of the `env` fixture (in-memory SQLite, file SQLite and
PostgreSQL).
"""

from __future__ import annotations

import threading
import time

from helpers.util import wait_done


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


from helpers.styles import add_async_variants  # noqa: E402

add_async_variants(globals())
