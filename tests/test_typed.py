"""The typed API (api.md 1.4, 1.5 parse_result, 1.6 register_*_typed, 1.7.2).

Typed scheduling methods build the same descriptors as the plain ones, except that a `str`
input is passed through as already-serialized JSON, and carry marker keys the core ignores.
"""

from __future__ import annotations

import json

import pytest

import duroxide

from duroxide import OrchestrationContext, ScheduledTask, parse_result
from helpers.util import wait_done, wait_until

CTX = OrchestrationContext({"instanceId": "i", "executionId": 1, "orchestrationName": "o",
                            "orchestrationVersion": "1.0.0"})
DEFAULT_RETRY = {"maxAttempts": 3, "timeoutMs": None, "totalTimeoutMs": None, "backoff": None}


# ---- descriptors ----------------------------------------------------------------------------


def test_typed_descriptors_pass_str_through_and_dump_the_rest():
    t = CTX.schedule_activity_typed("A", '{"already": "json"}')
    assert isinstance(t, ScheduledTask)
    assert t == {"type": "activity", "name": "A", "input": '{"already": "json"}', "_typed": True}
    assert CTX.schedule_activity_typed("A", {"x": 1})["input"] == '{"x": 1}'
    assert CTX.schedule_activity_typed("A")["input"] == "null"
    assert CTX.schedule_activity_typed("A", "21", result_type=int)["input"] == "21"
    # the plain method always dumps: a str is double-encoded
    assert CTX.schedule_activity("A", "21")["input"] == '"21"'

    t = CTX.schedule_activity_on_session_typed("A", "5", "s")
    assert t == {"type": "activityWithSession", "name": "A", "input": "5", "sessionId": "s",
                 "_typed": True}
    with pytest.raises(TypeError):
        CTX.schedule_activity_on_session_typed("A", "5")  # session_id None

    t = CTX.schedule_activity_with_retry_typed("A", [1])
    assert t == {"type": "activityWithRetry", "name": "A", "input": "[1]",
                 "retry": DEFAULT_RETRY, "_typed": True}
    t = CTX.schedule_activity_with_retry_on_session_typed("A", "x", {"maxAttempts": 2}, "s")
    assert t["type"] == "activityWithRetryOnSession" and t["input"] == "x"
    assert t["retry"]["maxAttempts"] == 2 and t["sessionId"] == "s" and t["_typed"] is True

    assert CTX.schedule_sub_orchestration_typed("C", '"raw"') == {
        "type": "subOrchestration", "name": "C", "input": '"raw"', "_typed": True}
    assert CTX.schedule_sub_orchestration_with_id_typed("C", "c-1", 3) == {
        "type": "subOrchestrationWithId", "name": "C", "instanceId": "c-1", "input": "3",
        "_typed": True}
    assert CTX.wait_for_event_typed("e") == {"type": "waitEvent", "name": "e", "_typed": True}
    assert CTX.dequeue_event_typed("q") == {"type": "dequeueEvent", "queueName": "q",
                                            "_typed": True}
    assert CTX.start_orchestration_typed("C", "c-2", "7") == {
        "type": "orchestration", "name": "C", "instanceId": "c-2", "input": "7"}
    assert CTX.start_orchestration_versioned_typed("C", "1.0.0", "c-3", {"a": 1}) == {
        "type": "orchestrationVersioned", "name": "C", "version": "1.0.0", "instanceId": "c-3",
        "input": '{"a": 1}'}
    assert CTX.continue_as_new_typed("5") == {"type": "continueAsNew", "input": "5"}
    assert CTX.continue_as_new_typed(5) == {"type": "continueAsNew", "input": "5"}
    assert CTX.continue_as_new_typed() == {"type": "continueAsNew", "input": "null"}

    a, b = CTX.schedule_timer(1), CTX.wait_for_event("x")
    assert CTX.all_typed([a, b]) == {"type": "join", "tasks": [a, b], "_typed_all": True}
    assert CTX.race_typed(a, b) == {"type": "select", "tasks": [a, b], "_typed_race": True}
    with pytest.raises(ValueError):
        CTX.race_typed(a)


def test_typed_input_that_is_not_json_serializable_raises_type_error():
    with pytest.raises(TypeError, match="set"):
        CTX.schedule_activity_typed("A", {1, 2})


# ---- end to end -----------------------------------------------------------------------------


def test_str_pass_through_rule_end_to_end(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    seen = []

    @runtime.register_activity_typed("Double")
    def double(ctx, n):
        seen.append(n)
        return n * 2

    @runtime.register_orchestration_typed("Typed")
    def typed(ctx, input):
        # the client dumped the str "21" again, so the orchestration receives the str "21"
        assert input == "21"
        doubled = yield ctx.schedule_activity_typed("Double", input)   # "21" passed raw: 21
        plain = yield ctx.schedule_activity("Double", "ab")              # str stays a str
        return [doubled, plain]

    runtime.start()
    client.start_orchestration_typed("typed-1", "Typed", json.dumps(21))
    assert client.wait_for_orchestration_typed("typed-1", 10000) == [42, "abab"]
    assert seen == [21, "ab"]


def test_every_typed_context_method_end_to_end(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    attempts = {"n": 0}

    @runtime.register_activity_typed("Echo")
    def echo(ctx, input):
        return {"input": input, "session": ctx.session_id}

    @runtime.register_activity_typed("Flakey")
    def flakey(ctx, input):
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise RuntimeError("not yet")
        return attempts["n"]

    @runtime.register_activity_typed("Boom")
    def boom(ctx, input):
        raise ValueError("boom")

    @runtime.register_orchestration_typed("Child")
    def child(ctx, input):
        return {"child_got": input}

    @runtime.register_orchestration_versioned_typed("Detached", "1.0.0")
    def detached(ctx, input):
        ctx.set_kv_value("got", json.dumps(input))
        return None

    @runtime.register_orchestration_typed("Everything")
    def everything(ctx, input):
        out = {"input": input}
        if ctx.execution_id == 1:
            out["activity"] = yield ctx.schedule_activity_typed("Echo", '{"a": 1}')
            out["session"] = yield ctx.schedule_activity_on_session_typed("Echo", "[1, 2]", "s1")
            out["retry"] = yield ctx.schedule_activity_with_retry_typed(
                "Flakey", None, {"max_attempts": 3, "backoff": "none"})
            out["retry_session"] = yield ctx.schedule_activity_with_retry_on_session_typed(
                "Echo", "true", None, "s2")
            out["sub"] = yield ctx.schedule_sub_orchestration_typed("Child", '"raw"')
            out["sub_id"] = yield ctx.schedule_sub_orchestration_with_id_typed(
                "Child", f"{ctx.instance_id}-child", {"k": 1})
            yield ctx.start_orchestration_typed("Detached", f"{ctx.instance_id}-d1", '{"d": 1}')
            yield ctx.start_orchestration_versioned_typed(
                "Detached", "1.0.0", f"{ctx.instance_id}-d2", [2])
            ctx.set_custom_status("waiting")
            out["event"] = yield ctx.wait_for_event_typed("evt")
            out["queued"] = yield ctx.dequeue_event_typed("q")
            out["all"] = yield ctx.all_typed([
                ctx.schedule_activity_typed("Echo", "1"),
                ctx.schedule_activity_typed("Boom", "2"),
                ctx.schedule_timer(1),
            ])
            out["race"] = yield ctx.race_typed(ctx.schedule_activity_typed("Echo", "3"),
                                               ctx.schedule_timer(10000))
            yield ctx.continue_as_new_typed(json.dumps(out))
        return input

    runtime.start()
    client.start_orchestration_typed("every-1", "Everything", {"start": True})
    status = client.wait_for_status_change("every-1", 0, 20, 10000)
    assert status.custom_status == "waiting"

    def raise_event():
        client.raise_event_typed("every-1", "evt", {"approved": True})
        history = client.read_execution_history("every-1", 1)
        return any(e.kind == "ExternalEvent" and json.loads(e.data)["name"] == "evt"
                   and json.loads(e.data)["data"] == {"approved": True} for e in history)

    assert wait_until(raise_event, 10, 0.1)
    client.enqueue_event_typed("every-1", "q", ["m", 1])
    out = client.wait_for_orchestration_typed("every-1", 15000)
    # continue_as_new_typed passed the JSON str through: execution 2 got the dict back
    assert out["input"] == {"start": True}
    assert out["activity"] == {"input": {"a": 1}, "session": None}
    assert out["session"] == {"input": [1, 2], "session": "s1"}
    assert out["retry"] == 3
    assert out["retry_session"] == {"input": True, "session": "s2"}
    assert out["sub"] == {"child_got": "raw"}
    assert out["sub_id"] == {"child_got": {"k": 1}}
    assert out["event"] == {"approved": True}
    assert out["queued"] == ["m", 1]
    # all_typed unwraps ok items; err items stay {"err": ...} dicts
    assert out["all"][0] == {"input": 1, "session": None}
    assert out["all"][1] == {"err": "Activity 'Boom' call failed: ValueError: boom"}
    assert out["all"][2] is None
    # race_typed keeps the {"index", "value"} shape
    assert out["race"] == {"index": 0, "value": {"input": 3, "session": None}}
    assert client.wait_for_kv_value_typed("every-1-d1", "got", 10000) == {"d": 1}
    assert client.wait_for_kv_value_typed("every-1-d2", "got", 10000) == [2]
    assert client.list_executions("every-1") == [1, 2]


def test_client_typed_methods(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Ok")
    def ok(ctx, input):
        value = yield ctx.dequeue_event("q")
        return {"input": input, "queued": value, "version": ctx.orchestration_version}

    @runtime.register_orchestration_versioned("Ok", "2.0.0")
    def ok_v2(ctx, input):
        return {"input": input, "version": ctx.orchestration_version}

    @runtime.register_orchestration("Bad")
    def bad(ctx, input):
        raise RuntimeError("typed failure")

    runtime.start()
    client.start_orchestration_versioned_typed("ct-1", "Ok", {"n": 1}, "1.0.0")
    client.enqueue_event_typed("ct-1", "q", {"m": True})
    assert client.wait_for_orchestration_typed("ct-1") == {
        "input": {"n": 1}, "queued": {"m": True}, "version": "1.0.0"}
    client.start_orchestration_typed("ct-2", "Ok", "text")
    assert client.wait_for_orchestration_typed("ct-2", 10000) == {
        "input": "text", "version": "2.0.0"}
    client.start_orchestration_typed("ct-3", "Bad")
    with pytest.raises(Exception) as info:
        client.wait_for_orchestration_typed("ct-3", 10000)
    assert type(info.value) is duroxide.OrchestrationFailedError
    assert "RuntimeError: typed failure" in str(info.value)
    with pytest.raises(duroxide.OperationTimedOutError, match="Operation timed out"):
        client.wait_for_orchestration_typed("never-started", 100)


def test_register_typed_aliases_are_the_plain_methods(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    cls = type(runtime)
    assert cls.register_activity_typed is cls.register_activity
    assert cls.register_orchestration_typed is cls.register_orchestration
    assert cls.register_orchestration_versioned_typed is cls.register_orchestration_versioned

    def fn(ctx, input):
        return input

    assert runtime.register_activity_typed("A", fn) is fn
    assert runtime.register_orchestration_typed("O", fn) is fn
    assert runtime.register_orchestration_versioned_typed("O", "1.0.1", fn) is fn
    from duroxide import Client
    assert Client.start_orchestration_typed is Client.start_orchestration
    assert Client.start_orchestration_versioned_typed is Client.start_orchestration_versioned
    assert Client.raise_event_typed is Client.raise_event
    assert Client.enqueue_event_typed is Client.enqueue_event


# ---- parse_result ---------------------------------------------------------------------------


def test_parse_result():
    assert parse_result([{"ok": 1}, {"ok": {"a": 2}}, {"ok": None}]) == [1, {"a": 2}, None]
    assert parse_result({"ok": "v"}) == "v"
    with pytest.raises(Exception) as info:
        parse_result({"err": "broken"})
    assert type(info.value) is duroxide.TaskFailedError and str(info.value) == "broken"
    with pytest.raises(Exception, match="second"):
        parse_result([{"ok": 1}, {"err": "second"}])
    for other in (5, "s", None, {"index": 0, "value": 1}, {"ok": 1, "extra": 2}, [1, "x"], []):
        assert parse_result(other) == other
    assert parse_result([{"ok": 1}, 2]) == [1, 2]


def test_parse_result_on_all_results_in_an_orchestration(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Sq")
    def sq(ctx, n):
        return n * n

    @runtime.register_orchestration("Squares")
    def squares(ctx, n):
        results = yield ctx.all([ctx.schedule_activity("Sq", i) for i in range(n)])
        return parse_result(results)

    runtime.start()
    client.start_orchestration("sq-1", "Squares", 4)
    assert wait_done(client, "sq-1").output == [0, 1, 4, 9]


from helpers.styles import add_async_variants  # noqa: E402

add_async_variants(globals())
