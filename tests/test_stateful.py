"""Custom status, the per-instance KV store and event queues (api.md 1.4, 1.5, 1.7.4, 1.9).

Every test runs on an in-memory and a file-backed SQLite provider (the `env` fixture).
"""

from __future__ import annotations

import json
import time

import pytest

from duroxide import MAX_KV_KEYS, MAX_KV_VALUE_BYTES, Client, SqliteProvider
from helpers.util import wait_done, wait_until


def _wait_subscribed(client, instance_id, event_name, execution_id=1):
    """Waits until the instance's history shows an open wait_for_event(event_name)."""

    def subscribed():
        try:
            history = client.read_execution_history(instance_id, execution_id)
        except RuntimeError:
            return False
        return any(e.kind == "ExternalSubscribed" and json.loads(e.data)["name"] == event_name
                   for e in history)

    assert wait_until(subscribed, 10), f"{instance_id} never waited for {event_name!r}"


# ---- custom status ---------------------------------------------------------------------------


def test_custom_status_same_turn_reads_and_last_write_wins(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Status")
    def status(ctx, _):
        seen = [ctx.get_custom_status()]
        ctx.set_custom_status("a")
        seen.append(ctx.get_custom_status())
        ctx.set_custom_status(42)                   # str() is applied
        seen.append(ctx.get_custom_status())
        ctx.reset_custom_status()
        seen.append(ctx.get_custom_status())
        ctx.set_custom_status('{"not": "parsed"}')  # never JSON-parsed
        seen.append(ctx.get_custom_status())
        return seen

    runtime.start()
    client.start_orchestration("cs-1", "Status")
    result = wait_done(client, "cs-1")
    assert result.status == "Completed", result.error
    assert result.output == [None, "a", "42", None, '{"not": "parsed"}']
    assert result.custom_status == '{"not": "parsed"}'
    assert result.custom_status_version == 1  # five writes, one turn


def test_custom_status_version_counts_turns_that_changed_it(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Steps")
    def steps(ctx, _):
        ctx.set_custom_status("one")
        ctx.set_custom_status("two")
        yield ctx.wait_for_event("go")            # turn 2 begins here
        seen = ctx.get_custom_status()            # value of an earlier turn
        ctx.reset_custom_status()
        ctx.set_custom_status("three")
        yield ctx.wait_for_event("go")            # turn 3: no change
        yield ctx.schedule_timer(5)               # turn 4: no change
        ctx.reset_custom_status()                 # turn 5: reset counts as a change
        return seen

    runtime.start()
    client.start_orchestration("cs-2", "Steps")
    first = client.wait_for_status_change("cs-2", 0, 20, 10000)
    assert first.status == "Running"
    assert (first.custom_status, first.custom_status_version) == ("two", 1)
    client.raise_event("cs-2", "go")
    second = client.wait_for_status_change("cs-2", 1, 20, 10000)
    assert (second.custom_status, second.custom_status_version) == ("three", 2)
    client.raise_event("cs-2", "go")
    result = wait_done(client, "cs-2")
    assert result.status == "Completed", result.error
    assert result.output == "two"
    assert result.custom_status is None
    assert result.custom_status_version == 3
    assert client.get_status("cs-2").custom_status_version == 3


def test_custom_status_is_replay_safe_without_warm_cache(env):
    provider, client, make_runtime = env
    runtime = make_runtime(warm_cache_capacity=0)  # every turn replays from the start

    @runtime.register_orchestration("Progress")
    def progress(ctx, n):
        seen = []
        for i in range(n):
            seen.append(ctx.get_custom_status())
            ctx.set_custom_status(f"step {i}")
            yield ctx.schedule_timer(1)
        return seen

    runtime.start()
    client.start_orchestration("cs-3", "Progress", 4)
    result = wait_done(client, "cs-3")
    assert result.status == "Completed", result.error
    assert result.output == [None, "step 0", "step 1", "step 2"]
    assert result.custom_status == "step 3"
    assert result.custom_status_version == 4


def test_custom_status_carried_across_continue_as_new(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Eternal")
    def eternal(ctx, n):
        carried = ctx.get_custom_status()
        if n == 0:
            ctx.set_custom_status("from execution 1")
            yield ctx.continue_as_new(1)
        if n == 1:
            # no change in execution 2: the status stays and is carried once more
            yield ctx.schedule_timer(1)
            yield ctx.continue_as_new(2)
        return {"carried": carried, "execution": ctx.execution_id}

    runtime.start()
    client.start_orchestration("cs-4", "Eternal", 0)
    result = wait_done(client, "cs-4")
    assert result.status == "Completed", result.error
    assert result.output == {"carried": "from execution 1", "execution": 3}
    assert result.custom_status == "from execution 1"
    assert result.custom_status_version == 1


def test_wait_for_status_change_timeout_returns_none_and_completion_returns(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Quiet")
    def quiet(ctx, _):
        yield ctx.wait_for_event("finish")
        return "done"

    runtime.start()
    client.start_orchestration("cs-5", "Quiet")
    started = time.monotonic()
    assert client.wait_for_status_change("cs-5", 0, 20, 300) is None
    assert time.monotonic() - started >= 0.25
    _wait_subscribed(client, "cs-5", "finish")
    # the instance finishing ends the wait even though the version never moved
    client.raise_event("cs-5", "finish")
    result = client.wait_for_status_change("cs-5", 0, 20, 10000)
    assert result is not None
    assert result.status == "Completed"
    assert result.output == "done"
    assert result.custom_status is None and result.custom_status_version == 0
    # on a finished instance it returns at once; on an unknown one it times out
    assert client.wait_for_status_change("cs-5", 0, 20, 5000).status == "Completed"
    assert client.wait_for_status_change("nobody", 0, 20, 100) is None


def test_wait_for_status_change_defaults_and_newer_version(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Ticker")
    def ticker(ctx, _):
        for i in range(3):
            ctx.set_custom_status(f"tick {i}")
            yield ctx.schedule_timer(30)
        yield ctx.wait_for_event("never")

    runtime.start()
    client.start_orchestration("cs-6", "Ticker")
    seen = []
    version = 0
    while version < 3:
        result = client.wait_for_status_change("cs-6", version)  # defaults: 200 ms / 30 s
        assert result is not None and result.status == "Running"
        assert result.custom_status_version > version
        seen.append((result.custom_status_version, result.custom_status))
        version = result.custom_status_version
    # a busy waiter may skip a version, but never sees one out of order or a stale value
    assert seen[-1] == (3, "tick 2")
    assert all((v, f"tick {v - 1}") == (v, text) for v, text in seen)
    assert client.wait_for_status_change("cs-6", 3, 20, 200) is None


def test_custom_status_size_limit_fails_the_instance(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    limit = 256 * 1024

    @runtime.register_orchestration("Big")
    def big(ctx, size):
        ctx.set_custom_status("x" * size)
        yield ctx.schedule_timer(1)
        return "survived"

    runtime.start()
    client.start_orchestration("big-ok", "Big", limit)
    ok = wait_done(client, "big-ok")
    assert ok.status == "Completed", ok.error
    assert len(ok.custom_status) == limit

    client.start_orchestration("big-bad", "Big", limit + 1)
    bad = wait_done(client, "big-bad")
    assert bad.status == "Failed"
    assert "custom status" in bad.error
    assert str(limit + 1) in bad.error and str(limit) in bad.error
    assert bad.custom_status is None


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
    with pytest.raises(TimeoutError) as info:
        client.wait_for_kv_value("kv-2", "late", 300)
    assert str(info.value) == "Timed out waiting for value 'late' on instance 'kv-2'"
    assert time.monotonic() - started >= 0.25
    with pytest.raises(TimeoutError) as info:
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


# ---- event queues ---------------------------------------------------------------------------


def _wait_status(client, instance_id, expected, timeout_ms=10000):
    deadline = time.monotonic() + timeout_ms / 1000
    version = 0
    while time.monotonic() < deadline:
        result = client.wait_for_status_change(instance_id, version, 20, 1000)
        if result is None:
            continue
        if result.custom_status == expected:
            return result
        version = result.custom_status_version
        if result.status != "Running":
            break
    raise AssertionError(f"{instance_id} never reported status {expected!r}")


def test_queue_fifo_and_buffered_before_dequeue(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Drain")
    def drain(ctx, n):
        ctx.set_custom_status("busy")
        yield ctx.wait_for_event("go")  # messages arrive while we wait for something else
        got = []
        for _ in range(n):
            got.append((yield ctx.dequeue_event("jobs")))
        return got

    runtime.start()
    client.start_orchestration("q-1", "Drain", 6)
    _wait_status(client, "q-1", "busy")
    for i in range(4):
        client.enqueue_event("q-1", "jobs", {"job": i})
    client.raise_event("q-1", "go")
    client.enqueue_event("q-1", "jobs", "text")
    client.enqueue_event("q-1", "jobs", None)
    result = wait_done(client, "q-1")
    assert result.status == "Completed", result.error
    assert result.output == [{"job": 0}, {"job": 1}, {"job": 2}, {"job": 3}, "text", None]


def test_queue_message_sent_before_subscription_is_buffered(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Later")
    def later(ctx, _):
        ctx.set_custom_status("sleeping")
        yield ctx.schedule_timer(300)
        winner = yield ctx.race(ctx.dequeue_event("inbox"), ctx.schedule_timer(5000))
        return winner

    runtime.start()
    client.start_orchestration("q-2", "Later")
    _wait_status(client, "q-2", "sleeping")
    client.enqueue_event("q-2", "inbox", {"early": True})
    result = wait_done(client, "q-2")
    assert result.output == {"index": 0, "value": {"early": True}}


def test_queues_are_independent(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("MultiQueue")
    def multi_queue(ctx, input):
        ctx.set_custom_status("ready")
        yield ctx.wait_for_event("go")
        config = yield ctx.dequeue_event("config")
        command1 = yield ctx.dequeue_event("commands")
        command2 = yield ctx.dequeue_event("commands")
        idle = yield ctx.race(ctx.dequeue_event("other"), ctx.schedule_timer(200))
        return {"config": config, "commands": [command1, command2], "idle": idle["index"]}

    runtime.start()
    client.start_orchestration("q-3", "MultiQueue")
    _wait_status(client, "q-3", "ready")
    client.enqueue_event("q-3", "commands", "c1")
    client.enqueue_event("q-3", "config", {"v": 1})
    client.enqueue_event("q-3", "commands", "c2")
    client.raise_event("q-3", "go")
    result = wait_done(client, "q-3")
    assert result.status == "Completed", result.error
    assert result.output == {"config": {"v": 1}, "commands": ["c1", "c2"], "idle": 1}


def test_unconsumed_messages_survive_continue_as_new_in_order(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Consumer")
    def consumer(ctx, state):
        if ctx.execution_id == 1:
            ctx.set_custom_status("ready")
            yield ctx.wait_for_event("go")
        a = yield ctx.dequeue_event("a")
        state["a"].append(a)
        if len(state["a"]) == 2:
            state["b"].append((yield ctx.dequeue_event("b")))
        if len(state["a"]) < 5:
            yield ctx.continue_as_new(state)
        state["b"].append((yield ctx.dequeue_event("b")))
        state["executions"] = ctx.execution_id
        return state

    runtime.start()
    client.start_orchestration("q-4", "Consumer", {"a": [], "b": []})
    _wait_status(client, "q-4", "ready")
    for i in range(5):
        client.enqueue_event("q-4", "a", f"a{i}")
        client.enqueue_event("q-4", "b", f"b{i}")
    client.raise_event("q-4", "go")
    result = wait_done(client, "q-4")
    assert result.status == "Completed", result.error
    assert result.output == {"a": ["a0", "a1", "a2", "a3", "a4"], "b": ["b0", "b1"],
                             "executions": 5}
    # what execution 5 started with: everything not yet consumed, in arrival order across
    # both queues (b1..b4 were carried through up to four continue-as-new)
    history = client.read_execution_history("q-4", 5)
    carried = [(json.loads(e.data)["name"], json.loads(e.data)["data"])
               for e in history if e.kind == "QueueEventDelivered"]
    assert carried == [("b", "b1"), ("b", "b2"), ("b", "b3"), ("a", "a4"), ("b", "b4")]


def test_wait_for_event_keeps_single_event_semantics(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Signals")
    def signals(ctx, _):
        ctx.set_custom_status("gate")
        yield ctx.wait_for_event("gate")
        # "x" was raised before this wait existed: dropped. "y" was enqueued: buffered.
        x = yield ctx.race(ctx.wait_for_event("x"), ctx.schedule_timer(300))
        y = yield ctx.race(ctx.dequeue_event("y"), ctx.schedule_timer(3000))
        # an enqueued message never satisfies wait_for_event, nor a raised event a dequeue
        z = yield ctx.race(ctx.wait_for_event("y"), ctx.schedule_timer(300))
        w = yield ctx.race(ctx.dequeue_event("x"), ctx.schedule_timer(300))
        return [x["index"], y, z["index"], w["index"]]

    runtime.start()
    client.start_orchestration("ev-1", "Signals")
    _wait_status(client, "ev-1", "gate")
    client.raise_event("ev-1", "x", "raised too early")
    client.enqueue_event("ev-1", "y", "queued early")
    client.raise_event("ev-1", "gate")
    result = wait_done(client, "ev-1")
    assert result.status == "Completed", result.error
    assert result.output == [1, {"index": 0, "value": "queued early"}, 1, 1]


def test_copilot_chat_bot_from_the_guide(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Generate")
    def generate(ctx, text):
        # Call an LLM or generate a response
        return f"Echo: {text}"

    @runtime.register_orchestration("ChatBot")
    def chat_bot(ctx, input):
        # Wait for next message on the "inbox" queue
        msg_json = yield ctx.dequeue_event("inbox")
        msg = json.loads(msg_json)

        # Process the message
        response = yield ctx.schedule_activity("Generate", msg["text"])

        # Report the response via custom status
        ctx.set_custom_status(json.dumps({
            "state": "replied",
            "response": response,
            "seq": msg["seq"],
        }))

        # Exit on "bye", otherwise loop
        if "bye" in msg["text"].lower():
            return f"Done after {msg['seq']} msgs"

        # Restart with fresh history (messages survive continue-as-new)
        return (yield ctx.continue_as_new(""))

    runtime.start()

    # --- client side, as in the guide ---
    client.start_orchestration("chat-1", "ChatBot", "")
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 1, "text": "Hello!"}))
    status = client.wait_for_status_change("chat-1", 0, 50, 10000)
    reply = json.loads(status.custom_status)
    assert reply == {"state": "replied", "response": "Echo: Hello!", "seq": 1}

    # two messages in a row: the second waits in the queue across continue-as-new
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 2, "text": "How are you?"}))
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 3, "text": "Still there?"}))
    version = status.custom_status_version
    assert version == 1
    while version < 3:
        status = client.wait_for_status_change("chat-1", version, 50, 10000)
        assert status is not None and status.status == "Running"
        version = status.custom_status_version
    assert version == 3
    assert json.loads(status.custom_status) == {
        "state": "replied", "response": "Echo: Still there?", "seq": 3}

    # End the conversation
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 4, "text": "Bye!"}))
    result = wait_done(client, "chat-1")
    assert result.status == "Completed", result.error
    assert result.output == "Done after 4 msgs"
    assert json.loads(result.custom_status)["response"] == "Echo: Bye!"
    assert result.custom_status_version == 4
    assert client.list_executions("chat-1") == [1, 2, 3, 4]


def test_carry_forward_cap_drops_surplus_with_a_warning(env, capfd):
    provider, client, make_runtime = env
    runtime = make_runtime()
    cap = 1024  # documented in the user guide (section 14)

    @runtime.register_orchestration("Hoarder")
    def hoarder(ctx, _):
        if ctx.execution_id == 1:
            ctx.set_custom_status("ready")
            yield ctx.wait_for_event("go")
            yield ctx.continue_as_new(None)
        first = yield ctx.dequeue_event("q")
        return first

    runtime.start()
    client.start_orchestration("cap-1", "Hoarder")
    _wait_status(client, "cap-1", "ready")
    for i in range(cap + 3):
        client.enqueue_event("cap-1", "q", i)
    client.raise_event("cap-1", "go")
    result = wait_done(client, "cap-1", 30000)
    assert result.status == "Completed", result.error
    assert result.output == 0
    history = client.read_execution_history("cap-1", 2)
    carried = [json.loads(e.data)["data"] for e in history
               if e.kind == "QueueEventDelivered"]
    assert carried == list(range(cap))  # oldest first, the 3 newest dropped
    drops = [r for r in _log_records(capfd.readouterr().err)
             if "carry-forward cap reached" in r["message"]]
    assert len(drops) == 3
    for r in drops:
        assert r["level"] == "WARN" and r["target"] == "duroxide::runtime"
        assert r["fields"]["instance_id"] == "cap-1" and r["fields"]["queue"] == "q"
        assert r["fields"]["cap"] == str(cap)
    # ... and counted.
    assert runtime.metrics_snapshot()["dropped_messages"] >= 3


def _log_records(text):
    """Parses stderr log output in any of the three formats (another test of this process may
    have switched the process-wide format)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            records.append({k: rec[k] for k in ("level", "target", "message", "fields")})
        elif line.startswith("    ") and records and ": " in line:
            key, value = line.strip().split(": ", 1)  # pretty: one field per indented line
            records[-1]["fields"][key] = value
        elif " duroxide::" in line and ": " in line:
            head, rest = line.split(": ", 1)
            parts = head.split()
            fields = {}
            while " " in rest and "=" in rest.rsplit(" ", 1)[1]:  # compact: trailing k=v
                rest, pair = rest.rsplit(" ", 1)
                key, value = pair.split("=", 1)
                fields[key] = value
            records.append({"level": parts[-2], "target": parts[-1], "message": rest,
                            "fields": fields})
    return records
