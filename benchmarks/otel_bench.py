"""Cost of observability on `hello` (one orchestration, one activity), three modes in one run:

- off:        duroxide.otel never imported;
- installed:  duroxide.otel imported (OpenTelemetry loaded), nothing instrumented;
- on:         DuroxideInstrumentor().instrument() with an SDK TracerProvider, a
              BatchSpanProcessor and an exporter that drops every batch.

    python benchmarks/otel_bench.py --n 2000 --reps 5

Each run is a fresh process on a fresh SQLite file; the modes alternate run by run so drift of
a shared machine hits all alike. Prints each run, the medians of wall time and of CPU per
orchestration, and the ratios installed/off and on/off (targets: <= 1.02 and <= 1.10).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ("off", "installed", "on")


def child(mode: str, n: int, db: str, in_flight: int) -> Dict[str, Any]:
    import duroxide

    spans = 0
    if mode in ("installed", "on"):
        import duroxide.otel  # noqa: F401 - loading the package is what "installed" costs
    if mode == "on":
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Drop(SpanExporter):
            def export(self, batch: Any) -> Any:
                nonlocal spans
                spans += len(batch)
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Drop()))
        duroxide.otel.DuroxideInstrumentor().instrument(tracer_provider=provider)

    provider_ = duroxide.SqliteProvider.open(db)
    client = duroxide.Client(provider_)
    rt = duroxide.Runtime(provider_, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20))

    @rt.register_activity("Greet")
    def greet(ctx: Any, name: Any) -> str:
        return f"hello {name}"

    @rt.register_orchestration("Hello")
    def hello(ctx: Any, name: Any) -> Any:
        return (yield ctx.schedule_activity("Greet", name))

    rt.start()
    started = time.perf_counter()
    pending: List[str] = []
    for i in range(n):
        client.start_orchestration(f"h-{i}", "Hello", i)
        pending.append(f"h-{i}")
        if len(pending) >= in_flight:
            client.wait_for_orchestration(pending.pop(0), 60000)
    for iid in pending:
        client.wait_for_orchestration(iid, 60000)
    wall = time.perf_counter() - started
    rt.shutdown(2000)
    if mode == "on":
        provider.shutdown()  # flushes: every span reached the exporter
    return {"mode": mode, "wall_s": wall, "spans": spans}


def run(mode: str, n: int, in_flight: int) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="otel-bench-") as d:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--n", str(n),
                              "--db", os.path.join(d, "b.db"), "--in-flight", str(in_flight)],
                             capture_output=True, text=True, timeout=600)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(out.stderr[-2000:])
    r: Dict[str, Any] = json.loads(lines[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    r["cpu_us_per_orch"] = cpu / n * 1e6
    r["orch_per_s"] = n / r["wall_s"]
    return r


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--in-flight", type=int, default=50)
    p.add_argument("--child", choices=MODES)
    p.add_argument("--db")
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n, args.db, args.in_flight)))
        return
    results: Dict[str, List[Dict[str, Any]]] = {m: [] for m in MODES}
    for rep in range(args.reps):
        for mode in MODES:
            r = run(mode, args.n, args.in_flight)
            results[mode].append(r)
            print(f"rep {rep} {mode:9s} {r['orch_per_s']:8.0f} orch/s "
                  f"{r['cpu_us_per_orch']:7.0f} us CPU/orch spans={r['spans']}", flush=True)
    med = {m: {"wall_s": statistics.median(r["wall_s"] for r in rs),
               "cpu_us": statistics.median(r["cpu_us_per_orch"] for r in rs)}
           for m, rs in results.items()}
    for m in MODES:
        print(f"median {m:9s} wall {med[m]['wall_s']:.3f} s  CPU {med[m]['cpu_us']:.0f} us/orch")
    for m in ("installed", "on"):
        print(f"{m}/off: wall x{med[m]['wall_s'] / med['off']['wall_s']:.3f}  "
              f"CPU x{med[m]['cpu_us'] / med['off']['cpu_us']:.3f}")


if __name__ == "__main__":
    main()
