"""Schedule firing at scale (docs/schedules.md, docs/performance.md).

N schedules (default 10,000), each firing every 60 s, on one store; one runtime with no
dispatchers (orchestration_concurrency=0, worker_concurrency=0) runs only the firing loop, so
its process CPU is what schedules cost an otherwise idle runtime. The starts stay queued, and
each start's queue row records when the loop wrote it.

Measured over `--minutes` minutes after one warm-up minute:
  - firing lag: queue-row created_at minus the occurrence's nominal time (from its instance id
    "<schedule_id>@<fire_ms>"), p50 / p99 / max;
  - CPU: process user+system time over the window, as a percentage of one core;
  - missed occurrences (should be 0).

`--spread` (default) offsets each schedule's start_at_ms by i * 60000 / N ms, so the N
schedules fire evenly through the minute; `--aligned` lets them all fire at the same second
(the worst case: N firings due at once).

    python benchmarks/schedules_bench.py [--schedules 10000] [--minutes 2] [--aligned]
        [--db PATH | --postgres URL] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import duroxide  # noqa: E402

MIN = 60_000


def pct(values: List[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def create(client: duroxide.Client, n: int, aligned: bool) -> int:
    base = (int(time.time() * 1000) // MIN + 1) * MIN  # the next minute boundary
    for i in range(n):
        offset = 0 if aligned else (i * MIN) // n
        client.create_schedule(f"bench-{i:05d}", "Nobody", every_ms=MIN, overlap="allow_all",
                               start_at_ms=base + offset)
    return base


def lags_sqlite(path: str, since_ms: int, until_ms: int) -> List[float]:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT instance_id, created_at FROM orchestrator_queue "
                      "WHERE kind = 'StartOrchestration'").fetchall()
    db.close()
    out = []
    for instance_id, created_at in rows:
        fire = int(instance_id.rsplit("@", 1)[1])
        if since_ms <= fire < until_ms:
            out.append(created_at - fire)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--schedules", type=int, default=10_000)
    ap.add_argument("--minutes", type=int, default=2)
    ap.add_argument("--aligned", action="store_true")
    ap.add_argument("--db", default=None, help="SQLite file (default: a temporary one)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    path = args.db or os.path.join(tempfile.mkdtemp(prefix="sched-bench-"), "bench.db")
    provider = duroxide.SqliteProvider.open(path)
    client = duroxide.Client(provider)
    t0 = time.time()
    base = create(client, args.schedules, args.aligned)
    created_s = time.time() - t0
    print(f"created {args.schedules} schedules in {created_s:.1f} s", flush=True)
    rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(
        orchestration_concurrency=0, worker_concurrency=0, heartbeat_interval_ms=0))
    rt.start()
    # Warm-up: until one minute after the first fire time.
    window_start = base + MIN
    while time.time() * 1000 < window_start:
        time.sleep(0.2)
    c0, w0 = cpu_s(), time.time()
    window_end = window_start + args.minutes * MIN
    while time.time() * 1000 < window_end + 2000:
        time.sleep(0.2)
    cpu = (cpu_s() - c0) / (time.time() - w0) * 100
    snap = rt.metrics_snapshot()
    rt.shutdown()
    lags = lags_sqlite(path, window_start, window_end)
    expected = args.schedules * args.minutes
    missed = sum(s.missed_count for s in client.list_schedules())
    result: Dict[str, Any] = {
        "store": "sqlite-file", "schedules": args.schedules, "minutes": args.minutes,
        "aligned": args.aligned, "create_s": round(created_s, 1),
        "firings_in_window": len(lags), "expected_in_window": expected,
        "lag_p50_ms": pct(lags, 0.50), "lag_p99_ms": pct(lags, 0.99),
        "lag_max_ms": max(lags) if lags else None, "cpu_percent_of_core": round(cpu, 1),
        "missed": missed, "schedule_errors": snap.schedule_errors if snap else None,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
