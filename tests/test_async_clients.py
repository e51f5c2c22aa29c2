"""AsyncClient / AsyncHttpClient beyond the parity suite (tests/test_client_parity.py runs the
behavioural suite on both): the typed declaration is generated from ClientAPI and current,
user code type-checks under mypy --strict, waits cost no thread each, `async with` closes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

import duroxide
from conftest import fast_options
from duroxide.client import _async_gen


def test_generated_declaration_is_current() -> None:
    assert _async_gen.TARGET.read_text(encoding="utf-8") == _async_gen.render(), \
        "client/_async_api.py is stale: run `python -m duroxide.client._async_gen`"


def test_user_code_type_checks_strictly(tmp_path: Any) -> None:
    pytest.importorskip("mypy")
    snippet = textwrap.dedent("""
        from typing import Any
        import duroxide
        from duroxide import OrchestrationContext, Runtime, SqliteProvider

        rt = Runtime(SqliteProvider.in_memory())

        @rt.register_orchestration("Wf")
        async def wf(ctx: OrchestrationContext, x: int) -> Any:
            value = await ctx.schedule_activity("A", x)
            await ctx.schedule_timer(10)
            return value

        async def main() -> None:
            async with rt, duroxide.AsyncClient(SqliteProvider.in_memory()) as client:
                result = await client.wait_for_orchestration("i", 100)
                reveal_type(result)
                await client.start_orchestration(1, "Wf")
    """)
    path = tmp_path / "snippet.py"
    path.write_text(snippet)
    import os
    from pathlib import Path

    # mypy reads the duroxide under test (not an installed copy)
    root = str(Path(duroxide.__file__).resolve().parent.parent)
    # An installed package is found by mypy itself (site-packages may not be in MYPYPATH).
    env = dict(os.environ) if "site-packages" in root else {**os.environ, "MYPYPATH": root}
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           str(path)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env=env)
    out = proc.stdout
    assert 'Revealed type is "duroxide.client.results.OrchestrationResult"' in out, out
    # the one deliberate mistake, and nothing else
    errors = [line for line in out.splitlines() if "error:" in line]
    assert len(errors) == 1 and "start_orchestration" in errors[0] and '"int"' in errors[0], out


def test_ten_thousand_waits_cost_no_thread_each() -> None:
    provider = duroxide.SqliteProvider.in_memory()
    runtime = duroxide.Runtime(provider, fast_options())

    @runtime.register_orchestration("Gate")
    def gate(ctx: Any, _: Any) -> Any:
        return (yield ctx.wait_for_event("go"))

    runtime.start()
    n = 10_000
    sync = duroxide.Client(provider)
    for i in range(n):
        sync.start_orchestration(f"g-{i}", "Gate")

    async def main() -> Any:
        async with duroxide.AsyncClient(provider) as client:
            waits = [asyncio.ensure_future(client.wait_for_orchestration(f"g-{i}", 120_000))
                     for i in range(n)]
            await asyncio.sleep(0.5)
            threads_while_waiting = threading.active_count()
            waiting = len(client._waiters)
            for i in range(n):
                await client.raise_event(f"g-{i}", "go", i)
            results = await asyncio.gather(*waits)
            return threads_while_waiting, waiting, results

    before = threading.active_count()
    started = time.monotonic()
    threads, waiting, results = asyncio.run(main())
    runtime.shutdown(5000)
    assert waiting == n
    assert threads - before <= 12, (before, threads)  # the registry + the executor, not n
    assert [r.output for r in results] == list(range(n))
    assert time.monotonic() - started < 120


def test_waits_time_out_and_closed_clients_refuse() -> None:
    provider = duroxide.SqliteProvider.in_memory()

    async def main() -> None:
        client = duroxide.AsyncClient(provider)
        async with client:
            with pytest.raises(duroxide.OperationTimedOutError, match="^Operation timed out$"):
                await client.wait_for_orchestration("nope", 100)
            assert await client.wait_for_status_change("nope", 0, 50, 100) is None
            with pytest.raises(duroxide.OperationTimedOutError, match="Timed out waiting"):
                await client.wait_for_kv_value("nope", "k", 100)
        assert client.closed
        with pytest.raises(duroxide.ClosedError):
            await client.get_status("nope")

    asyncio.run(main())


def test_pytest_fixture_gives_an_async_client(duroxide_async_client: Any,
                                              duroxide_runtime: Any,
                                              duroxide_registry: Any) -> None:
    @duroxide_registry.register_orchestration("Twice")
    async def twice(ctx: Any, x: int) -> int:
        return x * 2

    async def main() -> Any:
        await duroxide_async_client.start_orchestration("t-1", "Twice", 21)
        return await duroxide_async_client.wait_for_orchestration_typed("t-1", 10_000)

    assert asyncio.run(main()) == 42


def test_http_long_polls_hold_no_thread_on_either_side() -> None:
    """200 concurrent waits through AsyncHttpClient (asyncio streams) against a real uvicorn
    whose long-polls await AsyncClient waits: neither side parks a thread per wait."""
    pytest.importorskip("fastapi")
    from helpers.live_server import LiveServer

    provider = duroxide.SqliteProvider.in_memory()
    runtime = duroxide.Runtime(provider, fast_options())

    @runtime.register_orchestration("Gate")
    def gate(ctx: Any, _: Any) -> Any:
        return (yield ctx.wait_for_event("go"))

    runtime.start()
    n = 200
    sync = duroxide.Client(provider)
    for i in range(n):
        sync.start_orchestration(f"h-{i}", "Gate")
    server = LiveServer(duroxide.Client(provider), wait_slice_ms=5000).start()
    try:
        async def main() -> Any:
            async with duroxide.AsyncHttpClient(server.url) as client:
                waits = [asyncio.ensure_future(client.wait_for_orchestration(f"h-{i}", 60_000))
                         for i in range(n)]
                await asyncio.sleep(1.5)
                threads = threading.active_count()
                active = server.app.state.duroxide.active_waits
                for i in range(n):
                    await client.raise_event(f"h-{i}", "go", i)
                return threads, active, await asyncio.gather(*waits)

        before = threading.active_count()
        threads, active, results = asyncio.run(main())
        assert [r.output for r in results] == list(range(n))
        assert active == n  # every long-poll waiting at once on the server
        # Bounded by the pools for short calls (anyio's 40 on the server, the async clients'
        # 8), not by the n = 200 waits.
        assert threads - before <= 52, (before, threads)
    finally:
        server.stop()
        runtime.shutdown(3000)
