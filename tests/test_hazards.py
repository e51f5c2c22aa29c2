"""Correlation hazards of the reference engine (engine.md 6.5), fixed by design here."""

from __future__ import annotations

from helpers.util import wait_done


def test_child_that_continues_as_new_still_reports_to_its_parent(env):
    provider, client, make_runtime = env
    rt = make_runtime()

    @rt.register_orchestration("Counter")
    def counter(ctx, n):
        if n < 3:
            yield ctx.continue_as_new(n + 1)
        return n * 10

    @rt.register_orchestration("Parent")
    def parent(ctx, _):
        r = yield ctx.schedule_sub_orchestration("Counter", 0)
        return r

    rt.start()
    client.start_orchestration("p1", "Parent", None)
    result = wait_done(client, "p1")
    assert result.status == "Completed", result.error
    assert result.output == 30


def test_parent_in_a_later_execution_receives_its_childs_result(env):
    provider, client, make_runtime = env
    rt = make_runtime()

    @rt.register_orchestration("Child")
    def child(ctx, x):
        return x + 1

    @rt.register_orchestration("Looper")
    def looper(ctx, n):
        # Executions >= 2 schedule nothing but a sub-orchestration.
        r = yield ctx.schedule_sub_orchestration("Child", n)
        if n < 2:
            yield ctx.continue_as_new(r)
        return {"n": n, "r": r, "execution": ctx.execution_id}

    rt.start()
    client.start_orchestration("loop-1", "Looper", 0)
    result = wait_done(client, "loop-1")
    assert result.status == "Completed", result.error
    assert result.output == {"n": 2, "r": 3, "execution": 3}


def test_detached_start_in_a_continue_as_new_turn_is_dispatched(env):
    provider, client, make_runtime = env
    rt = make_runtime()

    @rt.register_orchestration("Side")
    def side(ctx, x):
        return f"side-{x}"

    @rt.register_orchestration("Spawner")
    def spawner(ctx, n):
        if n == 0:
            yield ctx.start_orchestration("Side", "side-a", "a")
            yield ctx.continue_as_new(1)
        return "done"

    rt.start()
    client.start_orchestration("spawn-1", "Spawner", 0)
    assert wait_done(client, "spawn-1").output == "done"
    side_result = wait_done(client, "side-a")
    assert side_result.status == "Completed", side_result.error
    assert side_result.output == "side-a"
