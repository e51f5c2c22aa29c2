"""Bad input gets a clear error at the call site, and nothing is lost or changed."""

from __future__ import annotations

import threading
import time

import pytest

from duroxide import (
    DuroxideError,
    InstanceAlreadyExistsError,
    OperationTimedOutError,
    OrchestrationContext,
    RuntimeOptions,
    SqliteProvider,
)
from helpers.util import wait_done, wait_until


class NotJson:
    pass


def _ctx():
    return OrchestrationContext({"instanceId": "i", "executionId": 1,
                                 "orchestrationName": "N", "orchestrationVersion": "1.0.0"})


# ---- non-JSON values -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad,type_name", [({1, 2}, "set"), (NotJson(), "NotJson"),
                                           (b"bytes", "bytes"), ({"k": object()}, "dict")])
def test_start_orchestration_with_non_json_input_raises_type_error(env, bad, type_name):
    provider, client, make_runtime = env
    with pytest.raises(TypeError) as excinfo:
        client.start_orchestration("bad-input", "Anything", bad)
    assert type_name in str(excinfo.value)
    with pytest.raises(TypeError):
        client.start_orchestration_versioned("bad-input", "Anything", bad, "1.0.0")
    assert client.get_status("bad-input").status == "NotFound"


def test_rejected_start_leaves_the_id_free(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Echo", lambda ctx, input: input)
    runtime.start()
    with pytest.raises(TypeError):
        client.start_orchestration("reuse", "Echo", {1})
    client.start_orchestration("reuse", "Echo", [1])
    result = wait_done(client, "reuse")
    assert result.status == "Completed", result.error
    assert result.output == [1]


def test_raise_event_with_non_json_data_raises_type_error(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("WaitOne")
    def wait_one(ctx, input):
        got = yield ctx.wait_for_event("evt")
        return got

    runtime.start()
    client.start_orchestration("evt", "WaitOne")
    assert wait_until(lambda: client.get_status("evt").status == "Running")
    with pytest.raises(TypeError) as excinfo:
        client.raise_event("evt", "evt", NotJson())
    assert "NotJson" in str(excinfo.value)
    assert client.get_status("evt").status == "Running"


def test_schedule_activity_with_non_json_input_raises_type_error_at_call_site():
    ctx = _ctx()
    with pytest.raises(TypeError) as excinfo:
        ctx.schedule_activity("A", {1, 2})
    assert "set" in str(excinfo.value)
    with pytest.raises(TypeError):
        ctx.schedule_sub_orchestration("Child", NotJson())
    with pytest.raises(TypeError):
        ctx.continue_as_new({1})


def test_orchestration_can_catch_non_json_activity_input(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    calls = []

    @runtime.register_activity("A")
    def a(ctx, input):
        calls.append(input)
        return "ran"

    @runtime.register_orchestration("CatchTypeError")
    def catch_type_error(ctx, input):
        try:
            yield ctx.schedule_activity("A", {1, 2})
        except TypeError as e:
            fallback = yield ctx.schedule_activity("A", [1, 2])
            return {"caught": str(e), "fallback": fallback}
        return "not reached"

    runtime.start()
    client.start_orchestration("catch-te", "CatchTypeError")
    result = wait_done(client, "catch-te")
    assert result.status == "Completed", result.error
    assert "set" in result.output["caught"]
    assert result.output["fallback"] == "ran"
    assert calls == [[1, 2]]


def test_uncaught_non_json_activity_input_fails_with_type_error_text(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("NoCatch")
    def no_catch(ctx, input):
        yield ctx.schedule_timer(1)
        yield ctx.schedule_activity("A", NotJson())
        return "not reached"

    runtime.start()
    client.start_orchestration("no-catch", "NoCatch")
    result = wait_done(client, "no-catch")
    assert result.status == "Failed"
    assert "TypeError" in result.error
    assert "NotJson" in result.error


# ---- duplicate ids, timeouts -----------------------------------------------------------------------


def test_starting_an_existing_instance_raises_and_changes_nothing(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runs = []

    @runtime.register_orchestration("Echo")
    def echo(ctx, input):
        runs.append(input)
        return {"input": input}

    runtime.start()
    client.start_orchestration("dup", "Echo", "first")
    first = wait_done(client, "dup")
    assert first.output == {"input": "first"}

    with pytest.raises(InstanceAlreadyExistsError) as excinfo:
        client.start_orchestration("dup", "Echo", "second")
    assert isinstance(excinfo.value, InstanceAlreadyExistsError)
    assert isinstance(excinfo.value, DuroxideError)
    assert "dup" in str(excinfo.value)
    with pytest.raises(InstanceAlreadyExistsError):
        client.start_orchestration_versioned("dup", "Echo", "third", "1.0.0")
    with pytest.raises(InstanceAlreadyExistsError):
        client.start_orchestration("dup", "OtherName", "fourth")

    # Nothing was re-run and the stored result is intact.
    assert not wait_until(lambda: len(runs) > 1 or client.get_status("dup").output != first.output,
                          timeout_s=0.3)
    after = client.get_status("dup")
    assert after.status == "Completed"
    assert after.output == {"input": "first"}
    assert runs == ["first"]


def test_starting_a_just_started_instance_raises(env):
    # No runtime is running yet: the instance exists as soon as start returns.
    provider, client, make_runtime = env
    client.start_orchestration("queued", "Echo", 1)
    with pytest.raises(InstanceAlreadyExistsError):
        client.start_orchestration("queued", "Echo", 2)
    runtime = make_runtime()
    runtime.register_orchestration("Echo", lambda ctx, input: input)
    runtime.start()
    result = wait_done(client, "queued")
    assert result.status == "Completed", result.error
    assert result.output == 1


def test_wait_for_orchestration_timeout(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Forever")
    def forever(ctx, input):
        yield ctx.wait_for_event("never")

    runtime.start()
    client.start_orchestration("forever", "Forever")
    with pytest.raises(OperationTimedOutError) as excinfo:
        client.wait_for_orchestration("forever", 100)
    assert str(excinfo.value) == "Operation timed out"
    assert client.get_status("forever").status == "Running"
    with pytest.raises(OperationTimedOutError) as excinfo:
        client.wait_for_orchestration("never-started", 100)
    assert str(excinfo.value) == "Operation timed out"


# ---- bad orchestration code ------------------------------------------------------------------------


@pytest.mark.parametrize("bad_yield,words", [
    (5, ["5", "int"]),
    ("text", ["str"]),
    (None, ["None"]),
    ({"type": "bogus"}, ["bogus"]),
])
def test_yielding_a_non_task_fails_readably(env, bad_yield, words):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("BadYield")
    def bad(ctx, input):
        yield bad_yield
        return "not reached"

    runtime.start()
    client.start_orchestration("bad-yield", "BadYield")
    result = wait_done(client, "bad-yield")
    assert result.status == "Failed"
    assert result.error
    for word in words:
        assert word in result.error, result.error


def test_race_with_fewer_than_two_tasks_raises_value_error(env):
    ctx = _ctx()
    with pytest.raises(ValueError):
        ctx.race()
    with pytest.raises(ValueError):
        ctx.race(ctx.schedule_timer(1))
    with pytest.raises(ValueError):
        ctx.race_typed(ctx.schedule_timer(1))

    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("RaceOne")
    def race_one(ctx, input):
        try:
            yield ctx.race(ctx.schedule_timer(1))
        except ValueError as e:
            return {"caught": str(e)}
        return "not reached"

    runtime.start()
    client.start_orchestration("race-one", "RaceOne")
    result = wait_done(client, "race-one")
    assert result.status == "Completed", result.error
    assert "2" in result.output["caught"]


def test_unregistered_orchestration_fails_after_max_attempts(env):
    provider, client, make_runtime = env
    runtime = make_runtime(dispatcher_poll_interval_ms=20, max_attempts=3)
    runtime.register_orchestration("Registered", lambda ctx, input: "fine")
    runtime.start()
    client.start_orchestration("unknown-name", "NobodyRegisteredThis", {"x": 1})
    client.start_orchestration("known-name", "Registered")
    assert wait_done(client, "known-name").output == "fine"
    result = wait_done(client, "unknown-name", 20000)
    assert result.status == "Failed"
    assert "NobodyRegisteredThis" in result.error


def test_nondeterminism_after_code_change_fails_the_instance(file_env, db_path):
    provider, client, make_runtime = file_env
    a_runs, b_runs = [], []
    a_done = threading.Event()

    runtime1 = make_runtime()

    @runtime1.register_activity("A")
    def activity_a(ctx, input):
        a_runs.append(input)
        a_done.set()
        return "a"

    @runtime1.register_orchestration("Flip")
    def flip_v_a(ctx, input):
        yield ctx.schedule_activity("A", input)
        yield ctx.schedule_timer(1500)  # the replay happens when this timer fires
        return "v-A"

    runtime1.start()
    client.start_orchestration("flip", "Flip", 1)
    assert a_done.wait(10)
    # Let the turn that schedules the timer commit; either way the replay below diverges.
    time.sleep(0.2)
    runtime1.shutdown(3000)
    assert client.get_status("flip").status == "Running"

    provider2 = SqliteProvider.open(str(db_path))
    runtime2 = make_runtime(provider=provider2)

    @runtime2.register_activity("A")
    def activity_a2(ctx, input):
        a_runs.append(input)
        return "a"

    @runtime2.register_activity("B")
    def activity_b(ctx, input):
        b_runs.append(input)
        return "b"

    @runtime2.register_orchestration("Flip")
    def flip_v_b(ctx, input):
        yield ctx.schedule_activity("B", input)
        yield ctx.schedule_timer(1500)
        return "v-B"

    runtime2.start()
    result = wait_done(client, "flip", 15000)
    assert result.status == "Failed"
    assert result.error.startswith("nondeterministic:"), result.error
    assert a_runs == [1]
    assert b_runs == []


def test_runtime_options_reject_bad_values():
    with pytest.raises((TypeError, ValueError)):
        RuntimeOptions(orchestration_concurrency=-1)
    with pytest.raises((TypeError, ValueError)):
        RuntimeOptions(dispatcher_poll_interval_ms="fast")
    with pytest.raises(TypeError):
        RuntimeOptions(no_such_option=1)
