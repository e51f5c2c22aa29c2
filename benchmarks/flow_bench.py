"""Flow-control benchmarks (docs/flow-control.md, figures in docs/performance.md).

    PYTHONPATH=python python benchmarks/flow_bench.py [--n 1000] [--items 300] [--reps 3]

On a fresh SQLite file per run, one process (client + runtime, 2 + 2 slots):
  hello           N instances of one activity each, every priority 0 (the default path)
  hello-priority  the same with starts and activities spread over priorities 0-9 (the rank
                  order of providers/queue_order.h with non-zero priorities in every row)
  debounce-1      ITEMS client.debounce calls on one key (sequential calls: each waits for
                  the debouncer's turn), window 50 ms: items/s and the batch count
  debounce-k      the same spread over 10 keys from 10 threads

Runs alternate between the variants (drift of a shared machine hits both alike); prints each
run and the medians as JSON lines. Named limits are measured by benchmarks/limits_bench.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from typing import Any, Dict, List

from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider

OPTIONS = dict(orchestration_concurrency=2, worker_concurrency=2, dispatcher_poll_interval_ms=10)


def _runtime(provider: Any) -> Runtime:
    rt = Runtime(provider, RuntimeOptions(**OPTIONS))

    @rt.register_activity("Echo")
    def echo(ctx: Any, x: Any) -> Any:
        return x

    @rt.register_orchestration("Hello")
    def hello(ctx: Any, p: int) -> Any:
        return (yield ctx.schedule_activity("Echo", p, priority=p))

    @rt.register_orchestration("Batch")
    def batch(ctx: Any, items: List[Any]) -> int:
        return len(items)

    rt.start()
    return rt


def hello(n: int, mixed: bool) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        provider = SqliteProvider.open(os.path.join(d, "b.db"))
        client, rt = Client(provider), _runtime(provider)
        try:
            t0 = time.perf_counter()
            for i in range(n):
                p = (i * 7) % 10 if mixed else 0
                client.start_orchestration(f"h{i}", "Hello", p, priority=p)
            for i in range(n):
                assert client.wait_for_orchestration(f"h{i}", 120000).status == "Completed"
            return {"per_s": round(n / (time.perf_counter() - t0), 1)}
        finally:
            rt.shutdown(5000)


def debounce(items: int, keys: int) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        provider = SqliteProvider.open(os.path.join(d, "b.db"))
        client, rt = Client(provider), _runtime(provider)
        try:
            ids: List[str] = []
            lock = threading.Lock()

            def send(k: int) -> None:
                for i in range(items // keys):
                    got = client.debounce(f"key{k}", "Batch", i, window_ms=50)
                    with lock:
                        ids.append(got)

            t0 = time.perf_counter()
            threads = [threading.Thread(target=send, args=(k,)) for k in range(keys)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
            batches = sorted(set(ids))
            total = sum(client.wait_for_orchestration(b, 60000).output for b in batches)
            assert total == len(ids)
            return {"items_per_s": round(len(ids) / elapsed, 1), "batches": len(batches)}
        finally:
            rt.shutdown(5000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--items", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    runs: Dict[str, List[Dict[str, Any]]] = {}
    variants = {
        "hello": lambda: hello(args.n, False),
        "hello-priority": lambda: hello(args.n, True),
        "debounce-1": lambda: debounce(args.items, 1),
        "debounce-k": lambda: debounce(args.items, 10),
    }
    for rep in range(args.reps):
        for name, fn in variants.items():
            out = fn()
            runs.setdefault(name, []).append(out)
            print(json.dumps({"rep": rep, "variant": name, **out}), flush=True)
    for name, outs in runs.items():
        key = "per_s" if "per_s" in outs[0] else "items_per_s"
        print(json.dumps({"variant": name, "median_" + key:
                          statistics.median(o[key] for o in outs)}), flush=True)


if __name__ == "__main__":
    main()
