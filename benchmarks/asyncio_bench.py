"""asyncio benchmarks (issue 23), each scenario in a fresh process on a fresh SQLite file.

    python benchmarks/asyncio_bench.py [--scenario all|fanout|hello|chain|waits] [--quick]

Scenarios (ratios are measured in one run, on one machine):
  fanout  100 orchestrations x 100 activities, each awaiting 100 ms (asyncio.sleep standing in
          for an HTTP call): async def activities vs def activities (time.sleep), default
          worker slots. Activities/s.
  hello   hello-world orchestrations with one activity, async def vs def: CPU per hello.
  chain   one orchestration running 2,000 activities in sequence, async def orchestration vs
          generator: wall time.
  waits   10,000 concurrent `await AsyncClient.wait_for_orchestration(...)`: peak RSS and
          thread count while waiting, and the time until every wait has returned.
Prints one JSON line per scenario.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))


def _runtime(db: str, **options: Any) -> Any:
    import duroxide

    provider = duroxide.SqliteProvider.open(db)
    return provider, duroxide.Runtime(provider, duroxide.RuntimeOptions(**options))


def fanout(db: str, style: str, n_orch: int, n_act: int) -> Dict[str, Any]:
    import duroxide

    provider, rt = _runtime(db)
    if style == "async":
        @rt.register_activity("Io")
        async def io_async(ctx: Any, i: int) -> int:
            await asyncio.sleep(0.1)
            return i
    else:
        @rt.register_activity("Io")
        def io_sync(ctx: Any, i: int) -> int:
            time.sleep(0.1)
            return i

    @rt.register_orchestration("Fan")
    async def fan(ctx: Any, n: int) -> int:
        return len(await ctx.all([ctx.schedule_activity("Io", i) for i in range(n)]))

    client = duroxide.Client(provider)
    rt.start()
    t0 = time.perf_counter()
    for i in range(n_orch):
        client.start_orchestration(f"f-{i}", "Fan", n_act)
    for i in range(n_orch):
        assert client.wait_for_orchestration(f"f-{i}", 3_600_000).output == n_act
    elapsed = time.perf_counter() - t0
    rt.shutdown(5000)
    return {"activities": n_orch * n_act, "seconds": round(elapsed, 2),
            "activities_per_s": round(n_orch * n_act / elapsed, 1)}


def hello(db: str, style: str, n: int) -> Dict[str, Any]:
    import duroxide

    provider, rt = _runtime(db)
    if style == "async":
        @rt.register_activity("Hi")
        async def hi_async(ctx: Any, name: str) -> str:
            return f"hello {name}"
    else:
        @rt.register_activity("Hi")
        def hi_sync(ctx: Any, name: str) -> str:
            return f"hello {name}"

    @rt.register_orchestration("Hello")
    def hello_orch(ctx: Any, name: str) -> Any:
        return (yield ctx.schedule_activity("Hi", name))

    client = duroxide.Client(provider)
    rt.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    for i in range(n):
        client.start_orchestration(f"h-{i}", "Hello", str(i))
    for i in range(n):
        assert client.wait_for_orchestration(f"h-{i}", 600_000).status == "Completed"
    cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - t0
    rt.shutdown(5000)
    return {"hellos": n, "cpu_us_per_hello": round(cpu / n * 1e6, 1),
            "hellos_per_s": round(n / elapsed, 1)}


def chain(db: str, style: str, n: int) -> Dict[str, Any]:
    import duroxide

    provider, rt = _runtime(db)

    @rt.register_activity("Step")
    def step(ctx: Any, i: int) -> int:
        return i + 1

    if style == "async":
        @rt.register_orchestration("Chain")
        async def chain_async(ctx: Any, count: int) -> int:
            value = 0
            for _ in range(count):
                value = await ctx.schedule_activity("Step", value)
            return value
    else:
        @rt.register_orchestration("Chain")
        def chain_gen(ctx: Any, count: int) -> Any:
            value = 0
            for _ in range(count):
                value = yield ctx.schedule_activity("Step", value)
            return value

    client = duroxide.Client(provider)
    rt.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    client.start_orchestration("c", "Chain", n)
    assert client.wait_for_orchestration("c", 3_600_000).output == n
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rt.shutdown(5000)
    return {"activities": n, "seconds": round(elapsed, 2), "cpu_s": round(cpu, 2)}


def waits(db: str, style: str, n: int) -> Dict[str, Any]:
    import duroxide

    provider, rt = _runtime(db)

    @rt.register_orchestration("Gate")
    def gate(ctx: Any, _: Any) -> Any:
        return (yield ctx.wait_for_event("go"))

    rt.start()
    sync = duroxide.Client(provider)
    for i in range(n):
        sync.start_orchestration(f"g-{i}", "Gate")

    async def main() -> Dict[str, Any]:
        async with duroxide.AsyncClient(provider) as client:
            pending = [asyncio.ensure_future(client.wait_for_orchestration(f"g-{i}", 3_600_000))
                       for i in range(n)]
            await asyncio.sleep(1.0)
            threads = threading.active_count()
            os_threads = _os_threads()
            t0 = time.perf_counter()
            for i in range(n):
                await client.raise_event(f"g-{i}", "go", i)
            results = await asyncio.gather(*pending)
            assert [r.output for r in results] == list(range(n))
            return {"python_threads_while_waiting": threads,
                    "os_threads_while_waiting": os_threads,
                    "seconds_to_release_all": round(time.perf_counter() - t0, 2)}

    out = {"waiters": n, **asyncio.run(main())}
    rt.shutdown(5000)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _os_threads() -> int:
    """Every thread of the process (native runtime threads included), from /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


SCENARIOS = {"fanout": fanout, "hello": hello, "chain": chain, "waits": waits}


def child(args: argparse.Namespace) -> None:
    fn = SCENARIOS[args.scenario]
    with tempfile.TemporaryDirectory(prefix="aio-bench-") as d:
        result = fn(os.path.join(d, "b.db"), args.style, *json.loads(args.params))
    print(json.dumps({"scenario": args.scenario, "style": args.style, **result}), flush=True)


def run(scenario: str, style: str, *params: Any) -> Dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "--scenario", scenario, "--style", style,
           "--params", json.dumps(params)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(out.stderr[-2000:])
    result: Dict[str, Any] = json.loads(lines[-1])
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default="all")
    parser.add_argument("--style", default="async")
    parser.add_argument("--params", default="[]")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    q = args.quick
    wanted = SCENARIOS if args.scenario == "all" else {args.scenario: None}
    if "fanout" in wanted:
        a = run("fanout", "async", 10 if q else 100, 100)
        # the synchronous run does far less work: 2 slots x 10/s = about 20 activities/s
        s = run("fanout", "sync", 1, 20 if q else 100)
        print(json.dumps({"fanout_async_over_sync": round(
            a["activities_per_s"] / s["activities_per_s"], 1)}))
    if "hello" in wanted:
        a, s = run("hello", "async", 300 if q else 2000), run("hello", "sync", 300 if q else 2000)
        print(json.dumps({"hello_cpu_async_over_sync": round(
            a["cpu_us_per_hello"] / s["cpu_us_per_hello"], 2)}))
    if "chain" in wanted:
        a, s = run("chain", "async", 300 if q else 2000), run("chain", "sync", 300 if q else 2000)
        print(json.dumps({"chain_async_over_generator": round(a["seconds"] / s["seconds"], 2)}))
    if "waits" in wanted:
        run("waits", "async", 1000 if q else 10_000)


if __name__ == "__main__":
    main()
