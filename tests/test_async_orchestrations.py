"""`async def` orchestrations (issue 23): stepped like generators, no event loop.

The guide's composition and error tests, the actor tests, the task-graph tests and the typed
tests also run in the async style (tests/helpers/styles.py adds a `__async` twin of each). This
module covers what only async code can do wrong (foreign awaitables), mixing both styles in one
workflow, and the testing tools (run_orchestration, replay, crash_test) on async code.
"""

from __future__ import annotations

import asyncio
from typing import Any

import duroxide
import pytest
from duroxide.testing import crash_test, replay, run_orchestration
from helpers.util import wait_done, wait_until

RULE_TEXT = "async orchestrations may await only duroxide tasks"


def _failing(env: Any, body: Any, name: str = "Bad") -> str:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Echo")
    def echo(ctx: Any, x: Any) -> Any:
        return x

    runtime.register_orchestration(name, body)
    runtime.start()
    client.start_orchestration("bad-1", name, None)
    result = wait_done(client, "bad-1")
    assert result.status == "Failed", result
    return str(result.error)


@pytest.mark.parametrize("awaitable, named", [
    (lambda: asyncio.sleep(0), "bare yield"),
    (lambda: asyncio.sleep(1), "asyncio.sleep"),
    (lambda: asyncio.gather(), "asyncio.gather"),
    (lambda: asyncio.Event().wait(), "asyncio/locks.py"),
])
def test_foreign_awaitable_fails_the_turn_naming_it_and_the_rule(env: Any, awaitable: Any,
                                                                  named: str) -> None:
    async def bad(ctx: Any, _: Any) -> Any:
        await ctx.schedule_activity("Echo", 1)
        await awaitable()
        return "unreachable"

    error = _failing(env, bad)
    assert named in error and RULE_TEXT in error and "ctx.schedule_timer" in error, error


def test_a_future_is_named(env: Any) -> None:
    class Foreign:
        def __await__(self) -> Any:
            yield "not a task"

    async def bad(ctx: Any, _: Any) -> Any:
        await Foreign()

    error = _failing(env, bad)
    assert "builtins.str 'not a task'" in error and RULE_TEXT in error


def test_catching_the_violation_does_not_hide_it(env: Any) -> None:
    async def sneaky(ctx: Any, _: Any) -> Any:
        try:
            await asyncio.sleep(5)
        except Exception:
            pass
        return await ctx.schedule_activity("Echo", "done")

    error = _failing(env, sneaky)
    assert "asyncio.sleep" in error and RULE_TEXT in error


def test_async_generator_is_rejected(env: Any) -> None:
    async def agen(ctx: Any, _: Any) -> Any:
        yield ctx.schedule_timer(1)

    assert "not async generators" in _failing(env, agen)


def test_both_styles_mix_parent_and_child(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Double")
    def double(ctx: Any, x: int) -> int:
        return x * 2

    @runtime.register_orchestration("AsyncChild")
    async def async_child(ctx: Any, x: int) -> int:
        a, b = duroxide.parse_result(await ctx.all([ctx.schedule_activity("Double", x),
                                                    ctx.schedule_activity("Double", x + 1)]))
        return int(a + b)

    @runtime.register_orchestration("GenChild")
    def gen_child(ctx: Any, x: int) -> Any:
        return (yield ctx.schedule_activity("Double", x))

    @runtime.register_orchestration("GenParent")
    def gen_parent(ctx: Any, x: int) -> Any:
        return (yield ctx.schedule_sub_orchestration("AsyncChild", x))

    @runtime.register_orchestration("AsyncParent")
    async def async_parent(ctx: Any, x: int) -> Any:
        from_gen = await ctx.schedule_sub_orchestration("GenChild", x)
        from_gen_parent = await ctx.schedule_sub_orchestration("GenParent", x)
        race = await ctx.race(ctx.schedule_timer(60000), ctx.schedule_activity("Double", 0))
        return [from_gen, from_gen_parent, race]

    runtime.start()
    client.start_orchestration("mix-1", "AsyncParent", 5)
    result = wait_done(client, "mix-1")
    assert result.status == "Completed", result.error
    assert result.output == [10, 22, {"index": 1, "value": 0}]


def test_versions_typed_events_and_continue_as_new(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Inc")
    def inc(ctx: Any, x: int) -> int:
        return x + 1

    @runtime.register_orchestration_versioned("Counter", "1.0.0")
    async def counter_v1(ctx: Any, n: int) -> Any:
        return "v1"

    @runtime.register_orchestration_versioned("Counter", "2.0.0")
    async def counter_v2(ctx: Any, n: int) -> Any:
        n = await ctx.schedule_activity_typed("Inc", n)
        if n < 3:
            await ctx.continue_as_new_typed(n)
            return None
        ctx.set_custom_status("waiting")
        extra = await ctx.wait_for_event_typed("bump")
        guid = await ctx.new_guid()
        now = await ctx.utc_now()
        both = await ctx.all_typed([ctx.schedule_activity("Inc", n),
                                    ctx.schedule_activity("Inc", extra["by"])])
        return {"n": n, "both": both, "guid": len(guid) > 0, "now": now > 0,
                "version": ctx.orchestration_version, "exec": ctx.execution_id}

    runtime.start()
    client.start_orchestration("count-1", "Counter", 0)
    assert wait_until(lambda: client.get_status("count-1").custom_status == "waiting")
    client.raise_event("count-1", "bump", {"by": 10})
    result = wait_done(client, "count-1")
    assert result.status == "Completed", result.error
    assert result.output == {"n": 3, "both": [4, 11], "guid": True, "now": True,
                             "version": "2.0.0", "exec": 3}


def _registry() -> duroxide.Registry:
    reg = duroxide.Registry()

    @reg.register_activity("Greet")
    def greet(ctx: Any, name: str) -> str:
        return f"hello {name}"

    @reg.register_orchestration("AsyncHello")
    async def hello(ctx: Any, names: Any) -> Any:
        out = []
        for name in names:
            out.append(await ctx.schedule_activity("Greet", name))
        await ctx.schedule_timer(1)
        return out

    return reg


def test_testing_tools_accept_async_orchestrations(tmp_path: Any) -> None:
    reg = _registry()
    provider = duroxide.SqliteProvider.in_memory()
    assert run_orchestration(reg, "AsyncHello", ["a", "b"], instance_id="h-1",
                             provider=provider) == ["hello a", "hello b"]
    client = duroxide.Client(provider)
    result = replay("h-1", reg, client)
    assert result.ok and result.output == ["hello a", "hello b"], result.report()

    # the same history against changed async code: a precise nondeterminism report
    changed = duroxide.Registry()

    @changed.register_orchestration("AsyncHello")
    async def hello_changed(ctx: Any, names: Any) -> Any:
        await ctx.schedule_timer(5)
        return []

    bad = replay("h-1", changed, client)
    assert not bad.ok and bad.nondeterministic, bad.report()

    report = crash_test(reg, start=("AsyncHello", ["x"]), expect=["hello x"])
    assert report.points and not report.failures


def test_lint_reports_foreign_awaits_statically() -> None:
    source = '''
import asyncio
from asyncio import sleep
import httpx
reg = None

@reg.register_orchestration("A")
async def orch(ctx, input):
    a = await ctx.schedule_activity("X", 1)
    b = await ctx.all([ctx.schedule_timer(1)])
    c = await ctx.actor("T", "k").request(1)
    await asyncio.sleep(1)
    await sleep(2)
    await asyncio.gather(a, b)
    client = make_client()
    await client.get("http://x")
    handle = build("x")
    await handle
    await helper(ctx)
    return [a, b, c]
'''
    from duroxide.testing import lint_source

    found = [(f.line, f.code, f.message.split(" awaits")[0]) for f in lint_source(source)]
    assert found == [(12, "DX013", "await asyncio.sleep()"), (13, "DX013", "await asyncio.sleep()"),
                     (14, "DX013", "await asyncio.gather()"), (16, "DX013", "await client.get()")]
