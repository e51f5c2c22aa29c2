"""Messaging benchmarks on file SQLite (docs/messaging.md, figures in docs/performance.md).

    PYTHONPATH=python python3 benchmarks/messaging.py [--quick] [--json OUT]

Measures:
  * ping-pong: sequential requests between two instances (p50/p99 round trip);
  * client request round trip to a running instance (p50/p99);
  * messages between instances per second (one sender, one receiver);
  * fan-out: publish time and time until every subscriber received, at 10/100/1000
    subscribers (publish cost must not grow with the subscriber count).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from typing import Any, Dict, List

from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider


def pct(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_runtime(provider: Any, concurrency: int = 2) -> Runtime:
    options = RuntimeOptions(orchestration_concurrency=concurrency, worker_concurrency=1,
                             dispatcher_poll_interval_ms=50)
    runtime = Runtime(provider, options)

    @runtime.register_orchestration("Ponger")
    def ponger(ctx: Any, n: int) -> Any:
        for _ in range(n):
            req = yield ctx.receive_request("ping")
            ctx.reply(req, req.data)
        return n

    @runtime.register_orchestration("Pinger")
    def pinger(ctx: Any, n: int) -> Any:
        stamps = [(yield ctx.utc_now())]
        for i in range(n):
            yield ctx.request("ponger", "ping", i, timeout_ms=60000)
            stamps.append((yield ctx.utc_now()))
        return stamps

    @runtime.register_orchestration("Sender")
    def sender(ctx: Any, args: Dict[str, int]) -> Any:
        for b in range(args["n"] // args["batch"]):
            for i in range(args["batch"]):
                ctx.send_message("receiver", "m", b * args["batch"] + i)
            yield ctx.schedule_timer(0)
        return args["n"]

    @runtime.register_orchestration("Receiver")
    def receiver(ctx: Any, n: int) -> Any:
        total = 0
        for _ in range(n):
            total += (yield ctx.dequeue_event("m"))
        return total

    @runtime.register_orchestration("Subscriber")
    def subscriber(ctx: Any, cost_topic: str) -> Any:
        ctx.subscribe("fan")
        ctx.subscribe(cost_topic)  # receives the cost-measuring publishes, never reads them
        msg = yield ctx.receive_message("fan")
        return msg.data

    return runtime


def bench_ping_pong(client: Client, n: int) -> Dict[str, float]:
    client.start_orchestration("ponger", "Ponger", n)
    client.start_orchestration("pinger", "Pinger", n)
    stamps = client.wait_for_orchestration("pinger", 600000).output
    rtts = [b - a for a, b in zip(stamps, stamps[1:])]
    client.wait_for_orchestration("ponger", 60000)
    return {"n": n, "p50_ms": pct(rtts, 0.5), "p99_ms": pct(rtts, 0.99),
            "mean_ms": statistics.mean(rtts)}


def bench_client_request(client: Client, n: int) -> Dict[str, float]:
    client.start_orchestration("ponger2", "Ponger", n)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        client.request("ponger2", "ping", i, 60000)
        times.append((time.perf_counter() - t0) * 1000)
    return {"n": n, "p50_ms": pct(times, 0.5), "p99_ms": pct(times, 0.99)}


def bench_throughput(client: Client, n: int) -> Dict[str, float]:
    t0 = time.perf_counter()
    client.start_orchestration("receiver", "Receiver", n)
    client.start_orchestration("sender", "Sender", {"n": n, "batch": 100})
    result = client.wait_for_orchestration("receiver", 600000)
    elapsed = time.perf_counter() - t0
    assert result.output == n * (n - 1) // 2, result
    return {"n": n, "seconds": elapsed, "messages_per_s": n / elapsed}


def bench_fan_out(client: Client, subscribers: int, tag: str) -> Dict[str, float]:
    ids = [f"sub-{tag}-{i}" for i in range(subscribers)]
    cost_topic = f"fan-cost-{tag}"
    for i in ids:
        client.start_orchestration(i, "Subscriber", cost_topic)
    deadline = time.time() + 300
    while True:
        try:
            if len(client.get_topic("fan").subscribers) >= subscribers:
                break
        except Exception:  # noqa: BLE001 - the topic appears with the first subscription
            pass
        assert time.time() < deadline
        time.sleep(0.05)
    # Publish cost with `subscribers` subscribers: the median of 20 publishes.
    samples = []
    for k in range(20):
        t1 = time.perf_counter()
        client.publish_event(cost_topic, k)
        samples.append((time.perf_counter() - t1) * 1000)
    time.sleep(0.5)
    t0 = time.perf_counter()
    client.publish_event("fan", tag)
    publish_ms = (time.perf_counter() - t0) * 1000
    for i in ids:
        assert client.wait_for_orchestration(i, 300000).output == tag
    all_received_s = time.perf_counter() - t0
    return {"subscribers": subscribers, "publish_ms_median": statistics.median(samples),
            "publish_ms": publish_ms, "all_received_s": all_received_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="duroxide-bench-msg-")
    db = os.path.join(workdir, "bench.db")
    # The client shares the runtime's provider object, so its writes wake the dispatchers at
    # once (a client on another provider object or process is seen by polling: up to
    # dispatcher_poll_interval_ms later on SQLite, or via LISTEN/NOTIFY on PostgreSQL).
    provider = SqliteProvider.open(db)
    runtime = make_runtime(provider)
    runtime.start()
    client = Client(provider)
    out: Dict[str, Any] = {}
    try:
        out["ping_pong"] = bench_ping_pong(client, 100 if args.quick else 300)
        print("ping-pong", out["ping_pong"], flush=True)
        out["client_request"] = bench_client_request(client, 100 if args.quick else 300)
        print("client request", out["client_request"], flush=True)
        out["throughput"] = bench_throughput(client, 2000 if args.quick else 10000)
        print("throughput", out["throughput"], flush=True)
        out["fan_out"] = []
        for n in (10, 100, 1000):
            row = bench_fan_out(client, n, f"f{n}")
            out["fan_out"].append(row)
            print("fan-out", row, flush=True)
    finally:
        runtime.shutdown(2000)
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
