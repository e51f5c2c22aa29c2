"""Custom status: set/reset within a turn, its version, replay and continue-as-new, the
client's wait_for_status_change, and the size limit (api.md 1.4, 1.5, 1.7.4).

The KV store and event queues are in test_kv_store.py and test_event_queues.py.
Every test runs on each provider of the `env` fixture, unless it asks for `file_env`.
"""

from __future__ import annotations

import json
import time

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
