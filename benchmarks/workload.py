"""duroxide benchmark workloads, written against the public API only.

The same script runs unchanged on this package and on the reference package (the Rust-core
`duroxide` on PyPI): the interpreter decides which `duroxide` is imported.

    python workload.py --workload hello --db /tmp/b.db --n 1000 --in-flight 50

Prints one JSON line with the figures on stdout.
"""

import argparse
import json
import os
import sys
import time

from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def build(args):
    provider = SqliteProvider.open(args.db)
    client = Client(provider)
    runtime = Runtime(provider, RuntimeOptions(
        orchestration_concurrency=args.orchestration_concurrency,
        worker_concurrency=args.worker_concurrency,
        dispatcher_poll_interval_ms=args.poll_ms,
    ))

    @runtime.register_activity("Echo")
    def echo(ctx, x):
        return x

    @runtime.register_activity("Inc")
    def inc(ctx, x):
        return x + 1

    @runtime.register_orchestration("Hello")
    def hello(ctx, x):
        r = yield ctx.schedule_activity("Echo", x)
        return r

    @runtime.register_orchestration("FanOut")
    def fan_out(ctx, n):
        results = yield ctx.all([ctx.schedule_activity("Echo", i) for i in range(n)])
        return sum(1 for r in results if "ok" in r)

    @runtime.register_orchestration("Chain")
    def chain(ctx, n):
        v = 0
        for _ in range(n):
            v = yield ctx.schedule_activity("Inc", v)
        return v

    @runtime.register_orchestration("Waiter")
    def waiter(ctx, x):
        ctx.set_custom_status("waiting")
        v = yield ctx.wait_for_event("go")
        return v

    return provider, client, runtime


def wait_all(client, ids, timeout_s):
    deadline = time.time() + timeout_s
    for i in ids:
        remaining = max(1, int((deadline - time.time()) * 1000))
        r = client.wait_for_orchestration(i, remaining)
        if r.status != "Completed":
            raise RuntimeError(f"{i}: {r.status} {r.error}")
    return True


def run_hello(args, client):
    ids = [f"hello-{i}" for i in range(args.n)]
    t0 = time.time()
    inflight = []
    started = 0
    done = 0
    while done < args.n:
        while started < args.n and len(inflight) < args.in_flight:
            client.start_orchestration(ids[started], "Hello", started)
            inflight.append(ids[started])
            started += 1
        r = client.wait_for_orchestration(inflight.pop(0), args.timeout * 1000)
        if r.status != "Completed":
            raise RuntimeError(f"hello failed: {r.status} {r.error}")
        done += 1
    elapsed = time.time() - t0
    return {"seconds": elapsed, "throughput": args.n / elapsed}


def run_single(args, client, name, n, expect):
    t0 = time.time()
    client.start_orchestration(f"{name}-{n}", name, n)
    r = client.wait_for_orchestration(f"{name}-{n}", args.timeout * 1000)
    elapsed = time.time() - t0
    if r.status != "Completed" or r.output != expect:
        raise RuntimeError(f"{name} wrong result: {r.status} {r.output} {r.error}")
    return {"seconds": elapsed}


def run_latency(args, client):
    samples = []
    for i in range(args.warmup + args.n):
        iid = f"lat-{i}"
        t0 = time.perf_counter()
        client.start_orchestration(iid, "Hello", i)
        r = client.wait_for_orchestration(iid, args.timeout * 1000)
        dt = (time.perf_counter() - t0) * 1000.0
        if r.status != "Completed":
            raise RuntimeError(f"latency run failed: {r.status}")
        if i >= args.warmup:
            samples.append(dt)
        time.sleep(0.01)  # idle between starts: this measures an idle runtime
    return {"p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99),
            "mean_ms": sum(samples) / len(samples), "seconds": sum(samples) / 1000.0}


def run_waiting(args, client):
    ids = [f"wait-{i}" for i in range(args.n)]
    t0 = time.time()
    for i in ids:
        client.start_orchestration(i, "Waiter", None)
    pending = set(ids)
    deadline = t0 + args.timeout
    while pending:
        if time.time() > deadline:
            raise TimeoutError(f"{len(pending)} instances never reached their wait")
        for i in list(pending):
            if client.get_status(i).custom_status_version >= 1:
                pending.discard(i)
        if pending:
            time.sleep(0.2)
    start_s = time.time() - t0
    rss = rss_mb()
    t1 = time.time()
    for i in ids:
        client.raise_event(i, "go", 1)
    wait_all(client, ids, args.timeout)
    release_s = time.time() - t1
    return {"seconds": start_s + release_s, "start_s": start_s, "rss_mb": rss,
            "release_s": release_s}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True,
                   choices=["hello", "fanout", "chain", "latency", "waiting"])
    p.add_argument("--db", required=True)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--in-flight", type=int, default=50)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--orchestration-concurrency", type=int, default=2)
    p.add_argument("--worker-concurrency", type=int, default=2)
    p.add_argument("--poll-ms", type=int, default=10)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--system", default="duroxide")
    args = p.parse_args()

    out = {"system": args.system, "workload": args.workload, "n": args.n,
           "in_flight": args.in_flight, "ok": True, "error": None}
    provider, client, runtime = build(args)
    runtime.start()
    try:
        if args.workload == "hello":
            out.update(run_hello(args, client))
        elif args.workload == "fanout":
            out.update(run_single(args, client, "FanOut", args.n, args.n))
        elif args.workload == "chain":
            out.update(run_single(args, client, "Chain", args.n, args.n))
        elif args.workload == "latency":
            out.update(run_latency(args, client))
        elif args.workload == "waiting":
            out.update(run_waiting(args, client))
    except Exception as exc:  # reported, not raised: the runner prints a table
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["rss_end_mb"] = rss_mb()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    try:
        runtime.shutdown(100)
    except Exception:
        pass
    os._exit(0)  # do not wait for the reference runtime's background tasks


if __name__ == "__main__":
    main()
