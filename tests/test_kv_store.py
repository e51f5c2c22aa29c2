"""The per-instance KV store: every context method, client readers, limits, continue-as-new,
deletion, deterministic replay (also after a restart) and reads of another instance
(api.md 1.4, 1.7.4).

Every test runs on each provider of the `env` fixture, unless it asks for `file_env`.
"""

from __future__ import annotations

import json
import time

import pytest

from duroxide import (MAX_KV_KEYS, MAX_KV_VALUE_BYTES, Client, OperationTimedOutError,
                      SqliteProvider)
from helpers.util import wait_done, wait_until


# ---- KV store: orchestration side -----------------------------------------------------------


def test_kv_every_context_method(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Kv")
    def kv(ctx, _):
        out = {}
        out["missing"] = ctx.get_kv_value("a")
        out["empty"] = [ctx.get_kv_all_values(), ctx.get_kv_all_keys(), ctx.get_kv_length()]
        ctx.set_kv_value("a", "1")
        ctx.set_kv_value("b", 2)                 # str() applied
        ctx.set_kv_value(3, {"x": 1})            # key and value str()-ed, not JSON
        out["read"] = [ctx.get_kv_value("a"), ctx.get_kv_value("b"), ctx.get_kv_value("3")]
        out["all"] = ctx.get_kv_all_values()
        out["keys"] = sorted(ctx.get_kv_all_keys())
        out["len"] = ctx.get_kv_length()
        ctx.set_kv_value("a", "overwritten")
        ctx.clear_kv_value("b")
        ctx.clear_kv_value("never-set")          # no-op
        out["after_clear"] = ctx.get_kv_all_values()
        out["prune0"] = ctx.prune_kv_values_updated_before(0)
        yield ctx.schedule_timer(20)
        now = yield ctx.utc_now()
        ctx.set_kv_value("fresh", "new")         # written in this turn: not before `now`
        out["pruned"] = ctx.prune_kv_values_updated_before(now)
        out["after_prune"] = ctx.get_kv_all_values()
        ctx.set_kv_value("z", "1")
        ctx.clear_all_kv_values()
        out["after_clear_all"] = [ctx.get_kv_all_values(), ctx.get_kv_length()]
        ctx.set_kv_value("kept", "yes")
        return out

    runtime.start()
    client.start_orchestration("kv-1", "Kv")
    result = wait_done(client, "kv-1")
    assert result.status == "Completed", result.error
    out = result.output
    assert out["missing"] is None
    assert out["empty"] == [{}, [], 0]
    assert out["read"] == ["1", "2", "{'x': 1}"]
    assert out["all"] == {"a": "1", "b": "2", "3": "{'x': 1}"}
    assert out["keys"] == ["3", "a", "b"]
    assert out["len"] == 3
    assert out["after_clear"] == {"a": "overwritten", "3": "{'x': 1}"}
    assert out["prune0"] == 0
    assert out["pruned"] == 2
    assert out["after_prune"] == {"fresh": "new"}
    assert out["after_clear_all"] == [{}, 0]
    assert client.get_kv_value("kv-1", "kept") == "yes"
    assert client.get_kv_value("kv-1", "a") is None


def test_kv_writes_are_visible_to_clients_after_each_turn(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("RequestServer")
    def request_server(ctx, input):
        ctx.set_kv_value("status", "ready")
        request = yield ctx.wait_for_event("request")
        response = request["command"][::-1]
        ctx.set_kv_value(f"response:{request['op_id']}", response)
        return "done"

    runtime.start()
    client.start_orchestration("server-1", "RequestServer")
    assert client.wait_for_kv_value("server-1", "status", 10000) == "ready"
    assert client.get_kv_value("server-1", "response:op-1") is None
    client.raise_event("server-1", "request", {"op_id": "op-1", "command": "olleh"})
    assert client.wait_for_kv_value("server-1", "response:op-1", 10000) == "hello"
    assert wait_done(client, "server-1").output == "done"


def test_kv_client_typed_readers_and_timeout(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Publish")
    def publish(ctx, _):
        ctx.set_kv_value("obj", json.dumps({"n": 1, "items": [1, 2]}))
        ctx.set_kv_value_typed("typed", {"ok": True})
        ctx.set_kv_value_typed("s", "raw text")  # a str is stored as is
        ctx.set_kv_value("num", 7)
        yield ctx.wait_for_event("late")
        ctx.set_kv_value("late", json.dumps([3]))
        return [ctx.get_kv_value_typed("obj"), ctx.get_kv_value_typed("s"),
                ctx.get_kv_value_typed("absent")]

    runtime.start()
    client.start_orchestration("kv-2", "Publish")
    assert client.wait_for_kv_value_typed("kv-2", "obj", 10000) == {"n": 1, "items": [1, 2]}
    assert client.get_kv_value("kv-2", "obj") == '{"n": 1, "items": [1, 2]}'
    assert client.get_kv_value_typed("kv-2", "typed") == {"ok": True}
    assert client.get_kv_value_typed("kv-2", "num") == 7
    assert client.get_kv_value("kv-2", "s") == "raw text"
    assert client.get_kv_value_typed("kv-2", "missing") is None
    assert client.get_kv_value("no-such-instance", "obj") is None

    started = time.monotonic()
    with pytest.raises(OperationTimedOutError) as info:
        client.wait_for_kv_value("kv-2", "late", 300)
    assert str(info.value) == "Timed out waiting for value 'late' on instance 'kv-2'"
    assert time.monotonic() - started >= 0.25
    with pytest.raises(OperationTimedOutError) as info:
        client.wait_for_kv_value_typed("ghost", "k", 100)
    assert str(info.value) == "Timed out waiting for value 'k' on instance 'ghost'"

    def raise_late():
        client.raise_event("kv-2", "late")
        return client.get_kv_value("kv-2", "late") is not None

    assert wait_until(raise_late, 10, 0.1)
    assert client.wait_for_kv_value_typed("kv-2", "late") == [3]
    result = wait_done(client, "kv-2")
    assert result.output == [{"n": 1, "items": [1, 2]}, "raw text", None]


def test_kv_readable_after_completion_and_gone_after_delete(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Leave")
    def leave(ctx, _):
        ctx.set_kv_value("result", "42")
        yield ctx.schedule_timer(1)
        ctx.set_kv_value("second", "turn")
        return None

    runtime.start()
    client.start_orchestration("kv-3", "Leave")
    assert wait_done(client, "kv-3").status == "Completed"
    assert client.get_kv_value("kv-3", "result") == "42"
    assert client.get_kv_value("kv-3", "second") == "turn"
    assert client.wait_for_kv_value("kv-3", "result", 100) == "42"
    stats = client.get_orchestration_stats("kv-3")
    assert stats.kv_user_key_count == 2
    assert stats.kv_total_value_bytes == len("42") + len("turn")
    deleted = client.delete_instance("kv-3")
    assert deleted.instances_deleted == 1
    assert client.get_kv_value("kv-3", "result") is None
    assert client.get_kv_value("kv-3", "second") is None


def test_kv_carried_across_continue_as_new(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Gen")
    def gen(ctx, n):
        ctx.set_kv_value(f"gen{n}", str(ctx.execution_id))
        if n < 2:
            yield ctx.continue_as_new(n + 1)
        ctx.clear_kv_value("gen0")
        return ctx.get_kv_all_values()

    runtime.start()
    client.start_orchestration("kv-4", "Gen", 0)
    result = wait_done(client, "kv-4")
    assert result.status == "Completed", result.error
    assert result.output == {"gen1": "2", "gen2": "3"}
    assert client.get_kv_value("kv-4", "gen0") is None
    assert client.get_kv_value("kv-4", "gen2") == "3"


def test_kv_key_limit_fails_the_instance(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    assert MAX_KV_KEYS == 150

    @runtime.register_orchestration("ManyKeys")
    def many_keys(ctx, n):
        for i in range(MAX_KV_KEYS):
            ctx.set_kv_value(f"k{i}", "v")
        yield ctx.schedule_timer(1)
        ctx.set_kv_value("k0", "overwrite is fine at the limit")
        if n > MAX_KV_KEYS:
            ctx.set_kv_value("one-too-many", "v")
        yield ctx.schedule_timer(1)
        return ctx.get_kv_length()

    runtime.start()
    client.start_orchestration("keys-ok", "ManyKeys", MAX_KV_KEYS)
    client.start_orchestration("keys-bad", "ManyKeys", MAX_KV_KEYS + 1)
    ok = wait_done(client, "keys-ok")
    assert ok.status == "Completed", ok.error
    assert ok.output == MAX_KV_KEYS
    bad = wait_done(client, "keys-bad")
    assert bad.status == "Failed"
    assert "150 keys" in bad.error and "one-too-many" in bad.error
    # the failing turn's writes are discarded; earlier turns' stay
    assert client.get_kv_value("keys-bad", "one-too-many") is None
    assert client.get_kv_value("keys-bad", "k0") == "v"


@pytest.mark.parametrize("value, fails", [
    ("a" * MAX_KV_VALUE_BYTES, False),
    ("a" * (MAX_KV_VALUE_BYTES + 1), True),
    ("\u00e9" * (MAX_KV_VALUE_BYTES // 2 + 1), True),  # fewer chars than the limit, more bytes
])
def test_kv_value_limit_is_in_bytes_and_fails_the_instance(env, value, fails):
    provider, client, make_runtime = env
    runtime = make_runtime()
    assert MAX_KV_VALUE_BYTES == 65536

    @runtime.register_orchestration("BigValue")
    def big_value(ctx, v):
        ctx.set_kv_value("small", "x")
        yield ctx.schedule_timer(1)
        ctx.set_kv_value("big", v)
        return len(ctx.get_kv_value("big"))

    runtime.start()
    client.start_orchestration("kv-big", "BigValue", value)
    result = wait_done(client, "kv-big")
    if fails:
        assert result.status == "Failed"
        size = len(value.encode())
        assert f"KV value for key 'big' is {size} bytes" in result.error
        assert str(MAX_KV_VALUE_BYTES) in result.error
        assert client.get_kv_value("kv-big", "big") is None
        assert client.get_kv_value("kv-big", "small") == "x"
    else:
        assert result.status == "Completed", result.error
        assert client.get_kv_value("kv-big", "big") == value


def _register_counter(runtime, turns: int, delay_ms: int = 1):
    reads = []

    @runtime.register_orchestration("Counter")
    def counter(ctx, _):
        for _ in range(turns):
            current = int(ctx.get_kv_value("counter") or 0)
            reads.append(current)
            ctx.set_kv_value("counter", current + 1)
            ctx.set_kv_value(f"seen-{current}", ctx.get_kv_length())
            if current % 10 == 9:
                ctx.clear_kv_value(f"seen-{current - 5}")
            yield ctx.schedule_timer(delay_ms)
        return {"counter": int(ctx.get_kv_value("counter")), "keys": ctx.get_kv_length()}

    return reads


def test_kv_read_modify_write_counter_replays_deterministically(env):
    provider, client, make_runtime = env
    runtime = make_runtime(warm_cache_capacity=0)  # every one of the 30 turns replays
    reads = _register_counter(runtime, 30)
    runtime.start()
    client.start_orchestration("counter-1", "Counter")
    result = wait_done(client, "counter-1", 60000)
    assert result.status == "Completed", result.error
    # 1 counter key + 30 seen-* keys - 3 cleared
    assert result.output == {"counter": 30, "keys": 28}
    assert client.get_kv_value("counter-1", "counter") == "30"
    assert client.get_kv_value("counter-1", "seen-4") is None
    assert client.get_kv_value("counter-1", "seen-3") == "4"
    # each turn replays every earlier read with the value of that point in the execution
    assert reads[:1] == [0] and reads[-1] == 29
    assert sorted(set(reads)) == list(range(30))
    prefix_runs = []
    run = []
    for r in reads:
        if r == 0 and run:
            prefix_runs.append(run)
            run = []
        run.append(r)
    prefix_runs.append(run)
    assert all(run == list(range(len(run))) for run in prefix_runs)
    assert len(prefix_runs) >= 30


def test_kv_counter_survives_a_runtime_restart_cold_replay(file_env, db_path):
    provider, client, make_runtime = file_env
    first = make_runtime()
    _register_counter(first, 30, delay_ms=25)
    first.start()
    client.start_orchestration("counter-2", "Counter")
    assert wait_until(lambda: int(client.get_kv_value("counter-2", "counter") or 0) >= 8, 20)
    first.shutdown(3000)
    stopped_at = int(client.get_kv_value("counter-2", "counter"))
    assert 8 <= stopped_at < 30
    assert client.get_status("counter-2").status == "Running"

    # a new provider object on the same file and a fresh runtime: nothing is cached
    reopened = SqliteProvider.open(str(db_path))
    second = make_runtime(provider=reopened)
    reads = _register_counter(second, 30, delay_ms=25)
    second.start()
    result = wait_done(Client(reopened), "counter-2", 60000)
    assert result.status == "Completed", result.error
    assert result.output == {"counter": 30, "keys": 28}
    # the first turn on the new runtime replayed the whole execution from the history
    assert reads[: stopped_at + 1] == list(range(stopped_at + 1))


def test_get_kv_value_from_instance_reads_another_instance_and_replays(env):
    provider, client, make_runtime = env
    runtime = make_runtime(warm_cache_capacity=0)  # force replays of the reader

    @runtime.register_orchestration("Owner")
    def owner(ctx, _):
        ctx.set_kv_value("config", "v1")
        yield ctx.wait_for_event("change")
        ctx.set_kv_value("config", "v2")
        return "owner done"

    @runtime.register_orchestration("Reader")
    def reader(ctx, _):
        first = yield ctx.get_kv_value_from_instance("owner-1", "config")
        missing_key = yield ctx.get_kv_value_from_instance("owner-1", "nope")
        missing_instance = yield ctx.get_kv_value_from_instance("nobody", "config")
        ctx.set_custom_status("read once")
        yield ctx.wait_for_event("again")
        second = yield ctx.get_kv_value_from_instance("owner-1", "config")
        return [first, missing_key, missing_instance, second]

    runtime.start()
    client.start_orchestration("owner-1", "Owner")
    assert client.wait_for_kv_value("owner-1", "config", 10000) == "v1"
    client.start_orchestration("reader-1", "Reader")
    assert client.wait_for_status_change("reader-1", 0, 20, 10000).custom_status == "read once"

    def change():
        client.raise_event("owner-1", "change")
        return client.get_kv_value("owner-1", "config") == "v2"

    assert wait_until(change, 10, 0.1)

    def again():
        client.raise_event("reader-1", "again")
        return client.get_status("reader-1").status != "Running"

    assert wait_until(again, 10, 0.1)
    result = wait_done(client, "reader-1")
    assert result.status == "Completed", result.error
    assert result.output == ["v1", None, None, "v2"]
    # the reads are recorded like activities (the built-in syscall)
    names = [json.loads(e.data)["name"] for e in client.read_execution_history("reader-1", 1)
             if e.kind == "ActivityScheduled"]
    assert names.count("__duroxide_syscall:get_kv_value") == 4
