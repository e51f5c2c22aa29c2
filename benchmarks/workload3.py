"""Round-3 workloads of this package only (started through workload.py --workload ...).

    io        --n orchestrations each fanning out --activities `async def` activities that
              each await --io-ms (default 100 ms) on one SQLite runtime: activities/s and CPU
              per activity.
    pg-io     the same on PostgreSQL, with the runtime in this process (--procs 1) or in
              --procs worker processes (pg_worker.py).
    history   one orchestration builds a history of --events events (a chain of activities,
              two events each), then waits for an event: the warm turn cost early and late in
              the chain (flat is the target), then the runtime is replaced by a new one on a
              newly opened store and the event raised: the cold replay of the whole history.

Each returns its figures into `out` and the runtime to shut down (or None).
"""

import os
import statistics
import time

import workload
from duroxide import Client, PostgresProvider, Runtime, RuntimeOptions, SqliteProvider


def run(args, out):
    try:
        if args.workload == "io":
            return io_sqlite(args, out)
        if args.workload == "pg-io":
            return io_pg(args, out)
        return history(args, out)
    except Exception as exc:  # reported, not raised: the runner prints a table
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"
    return None


def fan_out(args, client, out):
    """Starts args.n IoFan instances and waits for all; records activities/s."""
    ids = [f"io-{i}" for i in range(args.n)]
    cpu0, t0 = workload.cpu_s(), time.time()
    for iid in ids:
        client.start_orchestration(iid, "IoFan", args.activities)
    for iid in ids:
        r = client.wait_for_orchestration(iid, args.timeout * 1000)
        if r.status != "Completed" or r.output != args.activities:
            raise RuntimeError(f"{iid}: {r.status} {r.output!r} {r.error}")
    elapsed = time.time() - t0
    total = args.n * args.activities
    out.update(seconds=elapsed, activities=total, throughput=total / elapsed,
               io_ms=args.io_ms, cpu_us_per_item=(workload.cpu_s() - cpu0) / total * 1e6)


def io_sqlite(args, out):
    provider, client, runtime = workload.build(args)
    runtime.start()
    fan_out(args, client, out)
    return runtime


def io_pg(args, out):
    provider = PostgresProvider.connect(args.pg_url)
    client = Client(provider)
    runtime, workers = None, []
    try:
        if args.procs == 1 and not args.workers_only:
            runtime = workload.make_runtime(provider, args)
            runtime.start()
        else:
            workers = workload.start_workers(args)
        out["procs"] = args.procs
        fan_out(args, client, out)
        if workers:
            workload.stop_workers(workers)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    return runtime


def history_runtime(provider, args, stamps):
    rt = Runtime(provider, RuntimeOptions(
        orchestration_concurrency=args.orchestration_concurrency,
        worker_concurrency=args.worker_concurrency,
        dispatcher_poll_interval_ms=args.poll_ms, max_history_events=0))

    @rt.register_activity("Stamp")
    def stamp(ctx, i):
        stamps.append(time.perf_counter())
        return i

    @rt.register_orchestration("Long")
    def long_chain(ctx, k):
        v = 0
        for i in range(k):
            v = yield ctx.schedule_activity("Stamp", i)
        ctx.set_custom_status("ready")
        go = yield ctx.wait_for_event("go")
        return v + go

    return rt


def history(args, out):
    k = max(10, (args.events - 4) // 2)  # started, 2 per activity, event, completed
    stamps = []
    provider = SqliteProvider.open(args.db)
    client = Client(provider)
    rt = history_runtime(provider, args, stamps)
    rt.start()
    t0 = time.time()
    client.start_orchestration("long", "Long", k)
    while client.get_status("long").custom_status_version < 1:
        if time.time() - t0 > args.timeout:
            raise TimeoutError("the chain did not finish")
        time.sleep(0.05)
    build_s = time.time() - t0
    # One activity round trip plus one turn per interval; early vs late in the chain.
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    window = max(10, len(gaps) // 10)
    early = statistics.median(gaps[:window]) * 1e3
    late = statistics.median(gaps[-window:]) * 1e3
    events = len(client.read_execution_history("long", 1))
    rt.shutdown(5000)
    provider.close()

    cold_provider = SqliteProvider.open(args.db)
    cold_client = Client(cold_provider)
    cold = history_runtime(cold_provider, args, [])
    cold.start()
    t1 = time.perf_counter()
    cold_client.raise_event("long", "go", 1)
    r = cold_client.wait_for_orchestration("long", args.timeout * 1000)
    cold_s = time.perf_counter() - t1
    if r.status != "Completed" or r.output != k:
        raise RuntimeError(f"long: {r.status} {r.output!r} {r.error}")
    size = sum(os.path.getsize(args.db + x) for x in ("", "-wal") if os.path.exists(args.db + x))
    out.update(events=events, activities=k, build_s=build_s, turn_ms_early=early,
               turn_ms_late=late, turn_late_over_early=late / early, cold_replay_s=cold_s,
               seconds=cold_s, store_mb=size / 2**20)
    return cold
