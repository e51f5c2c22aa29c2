"""duroxide benchmark workloads, written against the public API only.

The same script runs unchanged on this package and on the reference package (the Rust-core
`duroxide` on PyPI): the interpreter decides which `duroxide` is imported.

    python workload.py --workload hello --db /tmp/b.db --n 1000 --in-flight 50
    python workload.py --workload pg-hello --pg-url postgresql://... --procs 2
    python workload.py --workload io --db /tmp/b.db --n 20 --activities 100   # duroxide only

`pg-hello` is hello on PostgreSQL, with one process (client and runtime together) or with
`--procs N` (this process only drives through a Client; N worker processes, pg_worker.py, each
run a Runtime with the same options against the same database; `--workers-only` uses a worker
process even for N = 1, as the scaling curve does). The round-3 workloads of this package only
(io, pg-io, history) live in workload3.py.

Prints one JSON line with the figures on stdout.
"""

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import threading
import time

from duroxide import Client, PostgresProvider, Runtime, RuntimeOptions, SqliteProvider

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_s():
    """CPU time of this process so far (all threads), seconds."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def build(args):
    # Only this package has durability levels; "normal" keeps the call the reference has.
    if args.durability != "normal":
        provider = SqliteProvider.open(args.db, durability=args.durability)
    else:
        provider = SqliteProvider.open(args.db)
    client = Client(provider)
    runtime = make_runtime(provider, args)
    return provider, client, runtime


def make_runtime(provider, args, executed=None):
    """A Runtime with every benchmark orchestration and activity registered.

    With `executed` (a list), the Echo activity appends its input to it on every run, so that
    the caller can check that each activity ran exactly once.
    """
    fleet = {}
    if getattr(args, "async_concurrency", None) is not None:  # workload3.py io rows
        fleet["async_activity_concurrency"] = args.async_concurrency
    if getattr(args, "heartbeat_ms", None) is not None:  # fleet A/B (benchmarks/fleet_ab.py)
        fleet["heartbeat_interval_ms"] = args.heartbeat_ms
    for name in ("activity_handoff", "gil_batching"):  # this package only (A/B)
        if getattr(args, name, None) is not None:
            fleet[name] = getattr(args, name) == "on"
    runtime = Runtime(provider, RuntimeOptions(
        orchestration_concurrency=args.orchestration_concurrency,
        worker_concurrency=args.worker_concurrency,
        dispatcher_poll_interval_ms=args.poll_ms,
        **fleet,
    ))

    if executed is None:
        @runtime.register_activity("Echo")
        def echo(ctx, x):
            return x
    else:
        @runtime.register_activity("Echo")
        def echo(ctx, x):
            executed.append(x)  # list.append is atomic under the GIL
            return x

    if getattr(args, "io_ms", None):  # workload3.py: async activities (this package only)
        import asyncio
        io_s = args.io_ms / 1000.0

        @runtime.register_activity("IoWait")
        async def io_wait(ctx, x):
            await asyncio.sleep(io_s)
            return x

        @runtime.register_orchestration("IoFan")
        def io_fan(ctx, n):
            results = yield ctx.all([ctx.schedule_activity("IoWait", i) for i in range(n)])
            return len(results)

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

    return runtime


def wait_all(client, ids, timeout_s):
    deadline = time.time() + timeout_s
    for i in ids:
        remaining = max(1, int((deadline - time.time()) * 1000))
        r = client.wait_for_orchestration(i, remaining)
        if r.status != "Completed":
            raise RuntimeError(f"{i}: {r.status} {r.error}")
    return True


def drive_hello(args, client, indices, in_flight):
    """Keeps `in_flight` of the instances `indices` running until all have completed."""
    inflight = []
    started = 0
    done = 0
    while done < len(indices):
        while started < len(indices) and len(inflight) < in_flight:
            i = indices[started]
            client.start_orchestration(f"hello-{i}", "Hello", i)
            inflight.append(f"hello-{i}")
            started += 1
        r = client.wait_for_orchestration(inflight.pop(0), args.timeout * 1000)
        if r.status != "Completed":
            raise RuntimeError(f"hello failed: {r.status} {r.error}")
        done += 1


def run_hello(args, client):
    """args.in_flight instances in flight; with --start-threads T, T client threads each keep
    their share in flight (one thread that waits for a durable commit per start is itself
    bounded by the commit latency)."""
    threads = max(1, getattr(args, "start_threads", 1))
    t0 = time.time()
    if threads == 1:
        drive_hello(args, client, list(range(args.n)), args.in_flight)
    else:
        errors = []

        def drive(k):
            try:
                drive_hello(args, client, list(range(k, args.n, threads)),
                            max(1, args.in_flight // threads))
            except Exception as exc:  # reported by the main thread
                errors.append(exc)

        workers = [threading.Thread(target=drive, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if errors:
            raise errors[0]
    elapsed = time.time() - t0
    return {"seconds": elapsed, "throughput": args.n / elapsed, "start_threads": threads}


def run_batch(args, client):
    """Shape (b): one client starts all N instances as fast as it can while the runtime runs,
    then waits for every one. The figure is N over the time from the first start to the last
    completion, so start cost, contention between the client and the dispatchers, and draining
    all count."""
    ids = [f"batch-{i}" for i in range(args.n)]
    starts_ms = []
    t0 = time.time()
    for i, iid in enumerate(ids):
        s0 = time.perf_counter()
        client.start_orchestration(iid, "Hello", i)
        starts_ms.append((time.perf_counter() - s0) * 1000.0)
    started_s = time.time() - t0
    for iid in ids:
        r = client.wait_for_orchestration(iid, args.timeout * 1000)
        if r.status != "Completed":
            raise RuntimeError(f"batch failed: {iid} {r.status} {r.error}")
    elapsed = time.time() - t0
    return {"seconds": elapsed, "throughput": args.n / elapsed, "start_seconds": started_s,
            "start_p99_ms": percentile(starts_ms, 99), "start_max_ms": max(starts_ms)}


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
    """N instances each waiting for an event: the time until every one is waiting (started
    durably and its first turn committed), the memory and the store then, and the release.
    With --start-threads T, T client threads share the starts (each start is still its own
    durable commit; concurrent starts can share a group commit's flush).

    The end of the start phase is read from the store's event count, which is exact: a first
    turn commits its events atomically, and a calibration instance run before the timed part
    gives the number of events one waiting instance has (the systems' histories differ). A
    status read per instance inside the timed part cost the 100,000 row 7 s of its 23 (reads
    that compete with the runtime for the store); every instance is still checked, after the
    timed part, and the row fails if one is not waiting."""
    events_each = calibrate_waiter(client, args.timeout)
    ids = [f"wait-{i}" for i in range(args.n)]
    threads = max(1, getattr(args, "start_threads", 1))
    base_events = client.get_system_metrics().total_events
    t0 = time.time()
    if threads == 1:
        for i in ids:
            client.start_orchestration(i, "Waiter", None)
    else:
        def starter(part):
            for i in part:
                client.start_orchestration(i, "Waiter", None)
        pool = [threading.Thread(target=starter, args=(ids[k::threads],)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    start_s = wait_for_events(client, base_events + events_each * args.n,
                              t0 + args.timeout) - t0
    rss = rss_mb()
    # The store on disk with every instance waiting (database file and its WAL).
    store_mb = sum(os.path.getsize(args.db + x) for x in ("", "-wal")
                   if os.path.exists(args.db + x)) / 2**20
    for i in ids:  # untimed: every instance really is waiting
        if client.get_status(i).custom_status_version < 1:
            raise RuntimeError(f"{i} is not waiting although the store has every event")
    t1 = time.time()
    for i in ids:
        client.raise_event(i, "go", 1)
    wait_all(client, ids, args.timeout)
    release_s = time.time() - t1
    return {"seconds": start_s + release_s, "start_s": start_s, "rss_mb": rss,
            "store_mb": store_mb, "release_s": release_s}


def calibrate_waiter(client, timeout_s):
    """Runs one Waiter to its wait; returns how many history events a waiting instance has."""
    before = client.get_system_metrics().total_events
    client.start_orchestration("wait-calibration", "Waiter", None)
    deadline = time.time() + timeout_s
    while client.get_status("wait-calibration").custom_status_version < 1:
        if time.time() > deadline:
            raise TimeoutError("the calibration instance never reached its wait")
        time.sleep(0.01)
    # The custom status and the turn's events are one commit: once it shows, all are counted.
    return client.get_system_metrics().total_events - before


def wait_for_events(client, target, deadline):
    """Returns the time at which the store held `target` events. The queue depth is the cheap
    poll (0.1 ms); the event count (a scan of the history, 0.3 s with 100,000 instances) is read
    only once the queue looks empty, and its snapshot is taken when the call begins."""
    while True:
        if time.time() > deadline:
            raise TimeoutError("instances never reached their wait")
        if client.get_queue_depths().orchestrator_queue == 0:
            at = time.time()
            if client.get_system_metrics().total_events >= target:
                return at
        time.sleep(0.02)


def start_workers(args):
    """Starts args.procs runtime processes (pg_worker.py) and waits until each has started."""
    cmd = [sys.executable, os.path.join(HERE, "pg_worker.py"), "--pg-url", args.pg_url,
           "--orchestration-concurrency", str(args.orchestration_concurrency),
           "--worker-concurrency", str(args.worker_concurrency),
           "--poll-ms", str(args.poll_ms)]
    if getattr(args, "activity_handoff", None) is not None:  # this package only (A/B)
        cmd += ["--activity-handoff", args.activity_handoff]
    for name in ("io_ms", "async_concurrency"):  # workload3.py pg-io
        if getattr(args, name, None) is not None:
            cmd += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    workers = []
    for _ in range(args.procs):
        workers.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True))
    for w in workers:
        line = w.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"worker {w.pid} did not start (exit {w.poll()}): {line!r}")
    return workers


def stop_workers(workers):
    """Tells each worker to stop and returns the inputs its Echo activity ran with."""
    executed = []
    for w in workers:
        try:
            w.stdin.write("stop\n")
            w.stdin.close()
        except OSError:
            pass
    for w in workers:
        try:
            lines = [l for l in w.stdout.read().splitlines() if l.startswith("{")]
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.kill()
            raise RuntimeError(f"worker {w.pid} did not stop")
        if not lines:
            raise RuntimeError(f"worker {w.pid} reported nothing (exit {w.returncode})")
        executed.append(json.loads(lines[-1])["executed"])
    return executed


def verify_hello(args, client, executed_per_proc):
    """Checks, after the timed part, that every instance completed exactly once.

    Each instance has one execution whose history is started / activity scheduled / activity
    completed / completed with the right output, and each Echo activity ran once.
    """
    expected = ["OrchestrationStarted", "ActivityScheduled", "ActivityCompleted",
                "OrchestrationCompleted"]
    for i in range(args.n):
        iid = f"hello-{i}"
        r = client.get_status(iid)
        if r.status != "Completed" or r.output != i:
            raise RuntimeError(f"{iid}: {r.status} output={r.output!r} error={r.error}")
        executions = client.list_executions(iid)
        if list(executions) != [1]:
            raise RuntimeError(f"{iid}: executions {executions}")
        kinds = [e.kind for e in client.read_execution_history(iid, 1)]
        if kinds != expected:
            raise RuntimeError(f"{iid}: history {kinds}")
    runs = collections.Counter(x for ex in executed_per_proc for x in ex)
    missing = [i for i in range(args.n) if runs[i] == 0]
    if missing:
        raise RuntimeError(f"{len(missing)} activities never ran in a runtime process, "
                           f"e.g. input {missing[0]}")
    return {"activity_runs": sum(runs.values()),
            "activity_reruns": sum(c - 1 for c in runs.values() if c > 1),
            "activity_runs_per_proc": [len(ex) for ex in executed_per_proc],
            "verified": True}


def pg_hello(args, out):
    """hello on PostgreSQL with one process or with args.procs runtime processes."""
    runtime = None
    workers = []
    executed = []
    try:
        provider = PostgresProvider.connect(args.pg_url)  # creates the schema before any worker
        client = Client(provider)
        if args.procs == 1 and not args.workers_only:
            runtime = make_runtime(provider, args, executed)
            runtime.start()
        else:
            workers = start_workers(args)
        out.update(run_hello(args, client))
        if workers:
            executed_per_proc = stop_workers(workers)
        else:
            executed_per_proc = [executed]
        out.update(verify_hello(args, client, executed_per_proc))
    except Exception as exc:  # reported, not raised: the runner prints a table
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    return runtime


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True,
                   choices=["hello", "batch", "fanout", "chain", "latency", "waiting", "pg-hello",
                            "io", "pg-io", "history"])
    p.add_argument("--db", help="SQLite file (every workload but pg-hello)")
    p.add_argument("--pg-url", help="PostgreSQL URL (pg-hello)")
    p.add_argument("--durability", default="normal", choices=["normal", "full"],
                   help="SqliteProvider.open durability (this package only)")
    p.add_argument("--procs", type=int, default=1,
                   help="pg-hello: runtime processes (1: client and runtime in this process)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--in-flight", type=int, default=50)
    p.add_argument("--workers-only", action="store_true",
                   help="pg-hello: worker processes even for --procs 1 (the scaling curve)")
    p.add_argument("--activities", type=int, default=100,
                   help="io/pg-io: async activities per orchestration")
    p.add_argument("--io-ms", type=int, default=None,
                   help="io/pg-io: each async activity awaits this long (default 100)")
    p.add_argument("--async-concurrency", type=int, default=None,
                   help="duroxide: RuntimeOptions.async_activity_concurrency")
    p.add_argument("--events", type=int, default=50000, help="history: events to build")
    p.add_argument("--start-threads", type=int, default=1,
                   help="hello/pg-hello: client threads that start and wait (in-flight split)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--orchestration-concurrency", type=int, default=2)
    p.add_argument("--worker-concurrency", type=int, default=2)
    p.add_argument("--poll-ms", type=int, default=10)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--system", default="duroxide")
    p.add_argument("--activity-handoff", choices=["on", "off"], default=None,
                   help="duroxide: RuntimeOptions.activity_handoff (A/B of the hand-off)")
    p.add_argument("--gil-batching", choices=["on", "off"], default=None,
                   help="duroxide: RuntimeOptions.gil_batching (A/B)")
    p.add_argument("--heartbeat-ms", type=int, default=None,
                   help="duroxide: RuntimeOptions.heartbeat_interval_ms (0: no worker registry)")
    args = p.parse_args()

    out = {"system": args.system, "workload": args.workload, "n": args.n,
           "in_flight": args.in_flight, "ok": True, "error": None}
    if args.workload in ("io", "pg-io", "history"):
        import workload3  # this package only
        if args.workload != "history" and args.io_ms is None:
            args.io_ms = 100
        finish(out, workload3.run(args, out))
    if args.workload == "pg-hello":
        if not args.pg_url:
            p.error("pg-hello needs --pg-url")
        out["procs"] = args.procs
        runtime = pg_hello(args, out)
        finish(out, runtime)
    if not args.db:
        p.error(f"{args.workload} needs --db")
    provider, client, runtime = build(args)
    runtime.start()
    cpu0 = cpu_s()
    try:
        if args.workload == "hello":
            out.update(run_hello(args, client))
        elif args.workload == "batch":
            out.update(run_batch(args, client))
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
    # CPU of every thread of this process (client and runtime) during the timed part.
    out["cpu_us_per_item"] = (cpu_s() - cpu0) / max(1, args.n) * 1e6
    finish(out, runtime)


def finish(out, runtime):
    out["rss_end_mb"] = rss_mb()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    if runtime is not None:
        try:
            runtime.shutdown(100)
        except Exception:
            pass
    os._exit(0)  # do not wait for the reference runtime's background tasks


if __name__ == "__main__":
    main()
