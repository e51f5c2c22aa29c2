"""One figure for each capability added in wave 3 (run by run.py as the "capabilities" feature).

    python benchmarks/capabilities_bench.py [--quick] [--json out.json]

- schedules: N schedules all due at the same moment on one SQLite file, a 2+2 runtime starting
  and running each occurrence (a one-step orchestration): seconds from the due time until every
  occurrence has completed, firings/s, and the runtime's CPU per firing.
- debounce: `client.debounce` calls on one key and spread over 10 keys from 10 threads
  (window 50 ms, flow_bench.py): items/s and batches.
- tracing: hello with DuroxideInstrumentor on (SDK span processor, dropping exporter) against
  off (otel_bench.py), alternating; CPU per orchestration and the on/off ratio.
- limits: measured by the named-limits benchmark when the store has named limits (issue 25);
  reported as not built otherwise.

Each part runs in this process (schedules, debounce) or in fresh child processes (tracing).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def schedules(n: int) -> Dict[str, Any]:
    import duroxide

    with tempfile.TemporaryDirectory(prefix="cap-sched-") as d:
        provider = duroxide.SqliteProvider.open(os.path.join(d, "b.db"))
        client = duroxide.Client(provider)
        rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(
            orchestration_concurrency=2, worker_concurrency=2, dispatcher_poll_interval_ms=10))

        @rt.register_orchestration("Tick")
        def tick(ctx: Any, x: Any) -> Any:
            return x
            yield  # a generator: one turn

        due = (int(time.time() * 1000) // 1000 + 3) * 1000 + (n // 1000) * 1000
        for i in range(n):
            client.create_schedule(f"s{i}", "Tick", i, every_ms=3_600_000, start_at_ms=due,
                                   overlap="allow_all")
        rt.start()
        while time.time() * 1000 < due:
            time.sleep(0.005)
        c0 = cpu_s()
        for i in range(n):
            r = client.wait_for_orchestration(f"s{i}@{due}", 120_000)
            if r.status != "Completed":
                raise RuntimeError(f"s{i}: {r.status}")
        seconds = time.time() - due / 1000.0
        cpu = cpu_s() - c0
        rt.shutdown(5000)
    return {"schedules": n, "seconds_to_all_completed": round(seconds, 3),
            "firings_per_s": round(n / seconds, 1), "cpu_us_per_firing": round(cpu / n * 1e6)}


def debounce(items: int) -> Dict[str, Any]:
    import flow_bench

    return {"one_key": flow_bench.debounce(items, 1), "ten_keys": flow_bench.debounce(items, 10)}


def tracing(n: int, reps: int) -> Dict[str, Any]:
    import otel_bench

    cpu: Dict[str, list] = {"off": [], "on": []}
    for _ in range(reps):
        for mode in ("off", "on"):
            cpu[mode].append(otel_bench.run(mode, n, 50)["cpu_us_per_orch"])
    med = {m: statistics.median(v) for m, v in cpu.items()}
    return {"n": n, "reps": reps, "cpu_us_per_orch_off": round(med["off"]),
            "cpu_us_per_orch_on": round(med["on"]),
            "on_over_off": round(med["on"] / med["off"], 2)}


def limits() -> Dict[str, Any]:
    import duroxide

    if not hasattr(duroxide.Client, "set_limit"):
        return {"built": False}
    import limits_bench  # type: ignore  # issue 25's benchmark, when landed

    return {"built": True, **limits_bench.figure()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    q = args.quick
    out: Dict[str, Any] = {}
    for name, fn in (("schedules", lambda: schedules(300 if q else 3000)),
                     ("debounce", lambda: debounce(100 if q else 300)),
                     ("tracing", lambda: tracing(300 if q else 1000, 1 if q else 3)),
                     ("limits", limits)):
        try:
            out[name] = fn()
        except Exception as exc:  # one part failing does not hide the others
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps({name: out[name]}), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
