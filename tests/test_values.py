"""The value-shape contract (api.md 1.2, 1.5, 1.7.3): JSON round trips, results, status, errors."""

from __future__ import annotations

import json

import pytest

from duroxide import OrchestrationContext, OrchestrationResult, parse_result
from helpers.util import raise_until_done, wait_done, wait_until


def _echo_runtime(env):
    """A runtime with an orchestration that reports the type and value of its input."""
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("EchoInput")
    def echo_input(ctx, input):
        return {"type": type(input).__name__, "value": input}

    return runtime


# ---- client inputs are json.dumps-ed ---------------------------------------------------------------


@pytest.mark.parametrize("value,expected_type", [
    ("x", "str"),
    ('{"a": 1}', "str"),        # an already-JSON string is double-encoded: still a str
    ("", "str"),
    (21, "int"),
    (2.5, "float"),
    (True, "bool"),
    (None, "NoneType"),
    ([1, "two", None], "list"),
    ({"k": {"nested": [1, 2]}, "u": "h\u00e9llo \u2603"}, "dict"),
])
def test_client_input_reaches_orchestration_unchanged(env, value, expected_type):
    provider, client, make_runtime = env
    _echo_runtime(env).start()
    client.start_orchestration("echo", "EchoInput", value)
    result = wait_done(client, "echo")
    assert result.status == "Completed", result.error
    assert result.output == {"type": expected_type, "value": value}


def test_default_client_input_is_none(env):
    provider, client, make_runtime = env
    _echo_runtime(env).start()
    client.start_orchestration("echo-default", "EchoInput")
    assert wait_done(client, "echo-default").output == {"type": "NoneType", "value": None}


def test_json_text_input_must_be_loaded_again_by_the_orchestration(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Decode")
    def decode(ctx, input):
        return json.loads(input)["n"] + 1

    runtime.start()
    client.start_orchestration("decode", "Decode", json.dumps({"n": 41}))
    result = wait_done(client, "decode")
    assert result.status == "Completed", result.error
    assert result.output == 42


def test_typed_activity_passes_str_input_raw_the_21_to_42_example(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    received = []

    @runtime.register_activity("Double")
    def double(ctx, input):
        received.append(input)
        return input * 2

    @runtime.register_orchestration("TypedDouble")
    def typed_double(ctx, input):
        typed = yield ctx.schedule_activity_typed("Double", input)
        plain = yield ctx.schedule_activity("Double", input)
        return {"input": input, "typed": typed, "plain": plain}

    runtime.start()
    client.start_orchestration("typed-21", "TypedDouble", json.dumps(21))
    result = wait_done(client, "typed-21")
    assert result.status == "Completed", result.error
    # The orchestration input is the str "21"; the typed call passes it raw, so the activity
    # parses the int 21. The plain call json.dumps-es it, so the activity gets the str "21".
    assert result.output == {"input": "21", "typed": 42, "plain": "2121"}
    assert received == [21, "21"]


def test_typed_sub_orchestration_with_empty_str_input_gives_child_none(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("EchoInput")
    def echo_input(ctx, input):
        return {"type": type(input).__name__, "value": input}

    @runtime.register_orchestration("EmptyInputs")
    def empty_inputs(ctx, input):
        raw_empty = yield ctx.schedule_sub_orchestration_typed("EchoInput", "")
        dumped_empty = yield ctx.schedule_sub_orchestration("EchoInput", "")
        return [raw_empty, dumped_empty]

    runtime.start()
    client.start_orchestration("empty-inputs", "EmptyInputs", None)
    result = wait_done(client, "empty-inputs")
    assert result.status == "Completed", result.error
    # raw "" input text becomes None; json.dumps("") is '""' which decodes to "".
    assert result.output == [{"type": "NoneType", "value": None},
                             {"type": "str", "value": ""}]


@pytest.mark.parametrize("value", [
    None, 0, -7, 3.25, False, "", "text", [], [1, [2, [3]]], {}, {"a": None, "b": [True]},
    "\u00e9\u2603\U0001f600",
])
def test_activity_input_and_output_round_trip(env, value):
    provider, client, make_runtime = env
    runtime = make_runtime()
    received = []

    @runtime.register_activity("Identity")
    def identity(ctx, input):
        received.append(input)
        return input

    @runtime.register_orchestration("RoundTrip")
    def round_trip(ctx, input):
        out = yield ctx.schedule_activity("Identity", input)
        return {"out": out}

    runtime.start()
    client.start_orchestration("rt", "RoundTrip", value)
    result = wait_done(client, "rt")
    assert result.status == "Completed", result.error
    assert result.output == {"out": value}
    assert received == [value]
    assert type(received[0]) is type(value)


def test_none_output_is_none(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Nothing")
    def nothing(ctx, input):
        return None

    @runtime.register_orchestration("ReturnsNone")
    def returns_none(ctx, input):
        value = yield ctx.schedule_activity("Nothing", None)
        assert value is None
        return None

    @runtime.register_orchestration("FallsOffTheEnd")
    def falls_off(ctx, input):
        yield ctx.schedule_activity("Nothing", None)

    runtime.start()
    client.start_orchestration("none-1", "ReturnsNone")
    client.start_orchestration("none-2", "FallsOffTheEnd")
    for iid in ("none-1", "none-2"):
        result = wait_done(client, iid)
        assert result.status == "Completed", result.error
        assert result.output is None
        assert result.error is None


def test_string_output_is_a_str_not_json_text(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Strings")
    def strings(ctx, input):
        return input

    runtime.start()
    for i, value in enumerate(["plain", '{"looks": "like json"}', "42", "null", ""]):
        client.start_orchestration(f"s{i}", "Strings", value)
    for i, value in enumerate(["plain", '{"looks": "like json"}', "42", "null", ""]):
        result = wait_done(client, f"s{i}")
        assert result.status == "Completed", result.error
        assert result.output == value
        assert isinstance(result.output, str)


@pytest.mark.parametrize("data", ["hello", {"approved": True, "by": ["a", "b"]}, 7, None])
def test_event_data_is_delivered_as_sent(env, data):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("WaitOne")
    def wait_one(ctx, input):
        got = yield ctx.wait_for_event("evt")
        return {"got": got}

    runtime.start()
    client.start_orchestration("evt-1", "WaitOne")
    result = raise_until_done(client, "evt-1", "evt", data)
    assert result.status == "Completed", result.error
    assert result.output == {"got": data}


# ---- OrchestrationResult and status strings --------------------------------------------------------


def test_result_fields_of_completed_instance(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Done", lambda ctx, input: {"ok": input})
    runtime.start()
    client.start_orchestration("done", "Done", 5)
    result = wait_done(client, "done")
    assert isinstance(result, OrchestrationResult)
    assert result.status == "Completed"
    assert result.output == {"ok": 5}
    assert result.error is None
    assert result.custom_status is None
    assert result.custom_status_version == 0
    status = client.get_status("done")
    assert (status.status, status.output, status.error) == ("Completed", {"ok": 5}, None)


def test_status_not_found_for_unknown_instance(env):
    provider, client, make_runtime = env
    result = client.get_status("no-such-instance")
    assert isinstance(result, OrchestrationResult)
    assert result.status == "NotFound"
    assert result.output is None
    assert result.error is None


def test_status_running_then_completed(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Gate")
    def gate(ctx, input):
        value = yield ctx.wait_for_event("open")
        return value

    runtime.start()
    client.start_orchestration("gate", "Gate")
    assert wait_until(lambda: client.get_status("gate").status == "Running")
    running = client.get_status("gate")
    assert running.output is None and running.error is None
    result = raise_until_done(client, "gate", "open", "opened")
    assert result.status == "Completed"
    assert result.output == "opened"
    assert client.get_status("gate").status == "Completed"


def test_completed_result_is_not_changed_by_a_late_event(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Done", lambda ctx, input: "final")
    runtime.start()
    client.start_orchestration("late", "Done")
    assert wait_done(client, "late").output == "final"
    client.raise_event("late", "anything", {"x": 1})
    # Give the runtime time to process the message it has to discard.
    assert not wait_until(lambda: client.get_status("late").output != "final", timeout_s=0.5)
    result = client.get_status("late")
    assert result.status == "Completed"
    assert result.output == "final"


def test_failed_result_is_not_changed_by_a_late_event(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    def fails(ctx, input):
        raise Exception("original failure")

    runtime.register_orchestration("Fails", fails)
    runtime.start()
    client.start_orchestration("late-failed", "Fails")
    error = wait_done(client, "late-failed").error
    assert "original failure" in error
    client.raise_event("late-failed", "anything", {"x": 1})
    assert not wait_until(lambda: client.get_status("late-failed").error != error, timeout_s=0.5)
    result = client.get_status("late-failed")
    assert result.status == "Failed"
    assert result.error == error


def test_parse_result_unwraps_ok_items_and_raises_on_err():
    assert parse_result([{"ok": 1}, {"ok": {"a": 2}}, {"ok": None}]) == [1, {"a": 2}, None]
    assert parse_result({"ok": "v"}) == "v"
    assert parse_result({"ok": None}) is None
    with pytest.raises(Exception) as excinfo:
        parse_result({"err": "went wrong"})
    assert str(excinfo.value) == "went wrong"
    assert parse_result("plain") == "plain"
    assert parse_result(5) == 5
    assert parse_result({"index": 0, "value": 1}) == {"index": 0, "value": 1}
    assert parse_result([]) == []


def test_parse_result_on_a_real_join(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_activity("Sq", lambda ctx, x: x * x)

    @runtime.register_orchestration("Squares")
    def squares(ctx, input):
        results = yield ctx.all([ctx.schedule_activity("Sq", i) for i in input])
        return parse_result(results)

    runtime.start()
    client.start_orchestration("squares", "Squares", [1, 2, 3])
    result = wait_done(client, "squares")
    assert result.status == "Completed", result.error
    assert result.output == [1, 4, 9]


def test_wait_for_orchestration_typed(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Good", lambda ctx, input: {"v": input})

    def bad(ctx, input):
        raise Exception("typed failure")

    runtime.register_orchestration("Bad", bad)
    runtime.start()
    client.start_orchestration("good", "Good", 3)
    client.start_orchestration("bad", "Bad", 3)
    assert client.wait_for_orchestration_typed("good", 15000) == {"v": 3}
    with pytest.raises(Exception) as excinfo:
        client.wait_for_orchestration_typed("bad", 15000)
    assert "typed failure" in str(excinfo.value)


# ---- error texts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("exc,expected", [
    (Exception("boom"), "Activity 'Fragile' call failed: Exception: boom"),
    (ValueError("bad value"), "Activity 'Fragile' call failed: ValueError: bad value"),
    (RuntimeError("rt"), "Activity 'Fragile' call failed: RuntimeError: rt"),
])
def test_activity_error_text(env, exc, expected):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Fragile")
    def fragile(ctx, input):
        raise exc

    @runtime.register_orchestration("CallFragile")
    def call_fragile(ctx, input):
        try:
            yield ctx.schedule_activity("Fragile", None)
        except Exception as e:  # noqa: BLE001
            return {"message": str(e), "type": type(e).__name__,
                    "is_exception": isinstance(e, Exception)}
        return "no error"

    runtime.start()
    client.start_orchestration("fragile", "CallFragile")
    result = wait_done(client, "fragile")
    assert result.status == "Completed", result.error
    # The orchestration receives an ActivityFailedError (an Exception) carrying the text.
    assert result.output == {"message": expected, "type": "ActivityFailedError",
                             "is_exception": True}


def test_uncaught_activity_error_fails_the_orchestration(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Fragile")
    def fragile(ctx, input):
        raise Exception("boom")

    @runtime.register_orchestration("LetItFail")
    def let_it_fail(ctx, input):
        yield ctx.schedule_activity("Fragile", None)
        return "unreachable"

    runtime.start()
    client.start_orchestration("let-it-fail", "LetItFail")
    result = wait_done(client, "let-it-fail")
    assert result.status == "Failed"
    assert result.output is None
    assert "Activity 'Fragile' call failed: Exception: boom" in result.error


def test_activity_returning_non_json_value_fails_with_type_error(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("ReturnsSet")
    def returns_set(ctx, input):
        return {1, 2}

    @runtime.register_orchestration("CallReturnsSet")
    def call(ctx, input):
        try:
            yield ctx.schedule_activity("ReturnsSet", None)
        except Exception as e:  # noqa: BLE001
            return str(e)
        return "no error"

    runtime.start()
    client.start_orchestration("returns-set", "CallReturnsSet")
    result = wait_done(client, "returns-set")
    assert result.status == "Completed", result.error
    assert result.output.startswith("Activity 'ReturnsSet' call failed: TypeError")
    assert "set" in result.output


def test_uncaught_orchestration_exception_gives_traceback(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Explodes")
    def explodes(ctx, input):
        yield ctx.schedule_timer(1)
        raise Exception("Processing failed")

    @runtime.register_orchestration("ExplodesAtOnce")
    def explodes_at_once(ctx, input):
        raise KeyError("missing-key")

    runtime.start()
    client.start_orchestration("explodes", "Explodes")
    client.start_orchestration("explodes-now", "ExplodesAtOnce")
    result = wait_done(client, "explodes")
    assert result.status == "Failed"
    assert result.output is None
    assert "Traceback" in result.error
    assert "Exception: Processing failed" in result.error
    at_once = wait_done(client, "explodes-now")
    assert at_once.status == "Failed"
    assert "KeyError: 'missing-key'" in at_once.error


def test_orchestration_returning_non_json_value_fails(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("ReturnsObject", lambda ctx, input: object())
    runtime.start()
    client.start_orchestration("returns-object", "ReturnsObject")
    result = wait_done(client, "returns-object")
    assert result.status == "Failed"
    assert "TypeError" in result.error
    assert "object" in result.error


# ---- contexts --------------------------------------------------------------------------------------


def test_activity_context_attributes(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    seen = {}

    @runtime.register_activity("Inspect")
    def inspect_ctx(ctx, input):
        seen.update(instance_id=ctx.instance_id, execution_id=ctx.execution_id,
                    orchestration_name=ctx.orchestration_name,
                    orchestration_version=ctx.orchestration_version,
                    activity_name=ctx.activity_name, session_id=ctx.session_id,
                    tag=ctx.tag(), cancelled=ctx.is_cancelled(),
                    worker_id=ctx.worker_id)
        return None

    @runtime.register_orchestration("Inspector")
    def inspector(ctx, input):
        yield ctx.schedule_activity("Inspect", None)
        return [ctx.instance_id, ctx.execution_id, ctx.orchestration_name,
                ctx.orchestration_version]

    runtime.start()
    client.start_orchestration("inspector-1", "Inspector")
    result = wait_done(client, "inspector-1")
    assert result.status == "Completed", result.error
    assert result.output == ["inspector-1", 1, "Inspector", "1.0.0"]
    worker_id = seen.pop("worker_id")
    assert isinstance(worker_id, str) and worker_id
    assert seen == dict(instance_id="inspector-1", execution_id=1,
                        orchestration_name="Inspector", orchestration_version="1.0.0",
                        activity_name="Inspect", session_id=None, tag=None, cancelled=False)


def test_orchestration_context_can_be_built_by_hand():
    ctx = OrchestrationContext({"instanceId": "i", "executionId": 3,
                                "orchestrationName": "N", "orchestrationVersion": "1.2.3"})
    assert (ctx.instance_id, ctx.execution_id, ctx.orchestration_name,
            ctx.orchestration_version) == ("i", 3, "N", "1.2.3")
    assert ctx.schedule_activity("A", {"x": 1}) == {"type": "activity", "name": "A",
                                                     "input": '{"x": 1}'}
    assert "tag" not in ctx.schedule_activity("A")
    assert ctx.schedule_timer(5) == {"type": "timer", "delayMs": 5}
    assert ctx.wait_for_event("e") == {"type": "waitEvent", "name": "e"}
    assert ctx.race(ctx.schedule_timer(1), ctx.schedule_timer(2)) == {
        "type": "select", "tasks": [{"type": "timer", "delayMs": 1},
                                    {"type": "timer", "delayMs": 2}]}
    # Fire-and-forget calls outside a turn do nothing.
    ctx.trace_info("ignored")
    ctx.set_custom_status("ignored")
