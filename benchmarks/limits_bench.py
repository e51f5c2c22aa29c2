"""Named-limit benchmarks (docs/flow-control.md, "Named limits"; figures in
docs/performance.md).

    PYTHONPATH=python python benchmarks/limits_bench.py [--quick] [--n 1000] [--reps 3]
                                                       [--json out.json]

On a fresh SQLite file per run, one process (client + runtime, 4 + 4 slots), N instances of
one activity each ("hello"), 50 in flight:
  hello            no limit (the default path, with the same-process activity hand-off)
  hello-claim      no limit, hand-off off: every activity claimed from the store, the path
                   limited activities always take
  hello-limit      every activity under Limit(concurrency=64): never binding, so the
                   difference is the cost of the limit check in the claim
  hello-per-key    Limit(concurrency=1, per_key=True) with 1,000 keys (key = i % 1000)
  hello-orch-limit every start under an orchestration limit, Limit(concurrency=64)
                   ("Orchestration limits"): never binding with 50 in flight, so the
                   difference is the cost of the slot (fetch predicate, insert, end trigger)
  held             Limit(concurrency=2), 4 worker slots, 20 ms activities: throughput held at
                   the limit (ideal 2 / 20 ms = 100/s) and the most that overlapped (must be 2)
  rate             Limit(rate_per_s=50, burst=1): achieved starts per second over N/4 tasks

The three hello variants run alternately, rep by rep, so the drift of a shared machine hits
them alike; the ratios are of the medians. Prints each run and a summary as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from duroxide import Client, Limit, Runtime, RuntimeOptions, SqliteProvider

OPTIONS = dict(orchestration_concurrency=4, worker_concurrency=4, dispatcher_poll_interval_ms=10)


class Probe:
    """Counts the activities running at once and records their start times."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.starts: List[float] = []

    def run(self, sleep_s: float) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.starts.append(time.perf_counter())
        if sleep_s:
            time.sleep(sleep_s)
        with self.lock:
            self.now -= 1


def _run(n: int, limit: Optional[Limit], keys: int, sleep_s: float,
         in_flight: int = 50, handoff: bool = True,
         start_limit: Optional[Limit] = None) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        provider = SqliteProvider.open(os.path.join(d, "b.db"))
        client = Client(provider)
        rt = Runtime(provider, RuntimeOptions(**OPTIONS, activity_handoff=handoff))
        probe = Probe()
        if limit is not None:
            rt.limit("bench", limit)
        if start_limit is not None:
            rt.limit("starts", start_limit)
        starts_under = "starts" if start_limit is not None else None

        @rt.register_activity("Echo")
        def echo(ctx: Any, x: Any) -> Any:
            probe.run(sleep_s)
            return x

        @rt.register_orchestration("Hello")
        def hello(ctx: Any, i: int) -> Any:
            if limit is None:
                return (yield ctx.schedule_activity("Echo", i))
            key = f"k{i % keys}" if keys else None
            return (yield ctx.schedule_activity("Echo", i, limit="bench", limit_key=key))

        rt.start()
        try:
            t0 = time.perf_counter()
            started = done = 0
            while done < n:
                while started < n and started - done < in_flight:
                    client.start_orchestration(f"h{started}", "Hello", started,
                                               limit=starts_under)
                    started += 1
                assert client.wait_for_orchestration(f"h{done}", 120000).status == "Completed"
                done += 1
            elapsed = time.perf_counter() - t0
            out: Dict[str, Any] = {"per_s": round(n / elapsed, 1), "peak": probe.peak}
            starts = sorted(probe.starts)
            if len(starts) > 1:
                out["start_rate_per_s"] = round((len(starts) - 1) / (starts[-1] - starts[0]), 1)
            return out
        finally:
            rt.shutdown(5000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    n, reps = (300, 2) if args.quick else (args.n, args.reps)
    hellos: Dict[str, Callable[[], Dict[str, Any]]] = {
        "hello": lambda: _run(n, None, 0, 0),
        "hello-claim": lambda: _run(n, None, 0, 0, handoff=False),
        "hello-limit": lambda: _run(n, Limit(concurrency=64), 0, 0),
        "hello-per-key": lambda: _run(n, Limit(concurrency=1, per_key=True), 1000, 0),
        "hello-orch-limit": lambda: _run(n, None, 0, 0, start_limit=Limit(concurrency=64)),
    }
    runs: Dict[str, List[Dict[str, Any]]] = {}
    for rep in range(reps):
        for name, fn in hellos.items():
            out = fn()
            runs.setdefault(name, []).append(out)
            print(json.dumps({"rep": rep, "variant": name, **out}), flush=True)
    summary: Dict[str, Any] = {
        name: statistics.median(o["per_s"] for o in outs) for name, outs in runs.items()}
    base = summary["hello"]
    summary["limit_vs_none"] = round(summary["hello-limit"] / base, 3)
    summary["per_key_vs_none"] = round(summary["hello-per-key"] / base, 3)
    summary["orch_limit_vs_none"] = round(summary["hello-orch-limit"] / base, 3)
    # Limited activities always go through the claim (no same-process hand-off), so the cost
    # of the limit check itself is measured against the claim path without hand-off.
    claim = summary["hello-claim"]
    summary["limit_vs_claim"] = round(summary["hello-limit"] / claim, 3)
    summary["per_key_vs_claim"] = round(summary["hello-per-key"] / claim, 3)
    held = _run(max(100, n // 5), Limit(concurrency=2), 0, 0.02)
    summary["held_per_s"], summary["held_peak"] = held["per_s"], held["peak"]
    summary["held_ideal_per_s"] = 100.0
    rate = _run(max(60, n // 4), Limit(rate_per_s=50, burst=1), 0, 0)
    summary["rate_limit_per_s"] = 50
    summary["rate_achieved_per_s"] = rate.get("start_rate_per_s")
    print(json.dumps({"summary": summary}), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
