"""Benchmark of `duroxide server`: starts through the REST API and status reads with 16
concurrent HTTP clients, compared with the in-process Client.

    .venv/bin/python benchmarks/server.py [--starts 2000] [--reads 500] [--clients 16]

The server runs as its own process (`duroxide server --db FILE`), as in production; this
process runs the runtime that executes the started instances and the HTTP clients
(duroxide.HttpClient, one keep-alive connection per thread). Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Any, Callable, Dict, List

import duroxide


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies_s: List[float], elapsed_s: float) -> Dict[str, float]:
    ms = [x * 1000 for x in latencies_s]
    return {"requests": len(ms), "throughput_per_s": round(len(ms) / elapsed_s, 1),
            "p50_ms": round(statistics.median(ms), 3), "p99_ms": round(percentile(ms, 0.99), 3)}


def run_threads(clients: int, work: Callable[[int], List[float]]) -> Dict[str, float]:
    """Runs work(thread_index) in `clients` threads; each returns its request latencies."""
    results: List[List[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def body(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return summary([x for r in results for x in r], time.perf_counter() - started)


def timed(fn: Callable[[], Any], n: int) -> List[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--starts", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=500, help="status reads per client")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="duroxide-server-bench-")
    db = os.path.join(tmp, "bench.db")
    provider = duroxide.SqliteProvider.open(db)
    local = duroxide.Client(provider)
    rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=5))

    def noop(ctx: Any, x: Any) -> Any:
        return x
        yield  # pragma: no cover - a generator

    rt.register_orchestration("Noop", noop)
    rt.start()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "duroxide", "server", "--db", db, "--port",
                               str(port), "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/v1/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        http = duroxide.HttpClient(url)
        per_client = args.starts // args.clients

        def start(i: int) -> List[float]:
            return [t for n in range(per_client) for t in timed(
                lambda n=n: http.start_orchestration(f"b-{i}-{n}", "Noop", n), 1)]

        starts = run_threads(args.clients, start)
        ids = [f"b-{i}-{n}" for i in range(args.clients) for n in range(per_client)]
        for instance_id in ids:
            local.wait_for_orchestration(instance_id, 60000)

        def reader(client: Any) -> Callable[[int], List[float]]:
            def work(i: int) -> List[float]:
                rng = random.Random(i)
                return timed(lambda: client.get_status(rng.choice(ids)), args.reads)
            return work

        http.get_status(ids[0])
        local.get_status(ids[0])
        http_reads = run_threads(args.clients, reader(http))
        local_reads = run_threads(args.clients, reader(local))
        rng = random.Random(1)
        http_serial = summary(timed(lambda: http.get_status(rng.choice(ids)), 2000), 1)
        local_serial = summary(timed(lambda: local.get_status(rng.choice(ids)), 2000), 1)
        result = {
            "store": "SQLite file", "clients": args.clients, "starts_via_rest": starts,
            "status_reads_http_16_clients": http_reads,
            "status_reads_in_process_16_threads": local_reads,
            "status_read_http_1_client": {k: v for k, v in http_serial.items()
                                          if k != "throughput_per_s"},
            "status_read_in_process_1_thread": {k: v for k, v in local_serial.items()
                                                if k != "throughput_per_s"},
            "added_p50_ms_1_client": round(http_serial["p50_ms"] - local_serial["p50_ms"], 3),
            "added_p50_ms_16_clients": round(http_reads["p50_ms"] - local_reads["p50_ms"], 3),
        }
        print(json.dumps(result, indent=2))
        http.close()
    finally:
        server.terminate()
        server.wait(10)
        rt.shutdown(5000)


if __name__ == "__main__":
    main()
