"""DBOS Transact (Python) versions of the duroxide benchmark workloads.

Mirrors benchmarks/workload.py (hello, fanout, chain) so both systems can be compared on
the same machine, each on an embedded SQLite file. Written against DBOS 3.4.0:

    /tmp/dbosvenv/bin/python dbos_workload.py --workload hello --db /tmp/d.db --n 1000 --in-flight 50

Prints exactly one JSON line on stdout; DBOS's own logs go to stderr (level WARNING).

- hello:  workflow HelloWorkflow(x) calls step Echo(x). N workflows, K kept in flight with
          DBOS.start_workflow; whenever the oldest finishes the next one starts.
- fanout: one workflow fanning out to N tasks. DBOS only enqueues *workflows*, so the
          idiomatic durable fan-out is: the parent enqueues N child workflows EchoTask(i)
          (each running the one step Echo(i)) on a queue with worker_concurrency=W, then
          collects every child's result via its handle. Enqueues and get_result calls are
          checkpointed in the parent, and the queue persists the children, so the fan-out
          survives a crash.
- chain:  one workflow running N steps Inc(v) one after another (v+1 each time).

A queue's worker thread looks for work every polling_interval_sec (DBOS default 1 s) and a
handle's get_result polls at 1 s by default; both use --poll-ms (default 10 ms, the same as
duroxide's dispatcher_poll_interval_ms default in workload.py) so the fan-out is not
dominated by idle polling.

SQLite settings are DBOS's defaults (rollback journal, synchronous=FULL: an fsync per
commit). --sqlite-wal opts into WAL + synchronous=NORMAL, which is what duroxide's
SqliteProvider uses, for a like-for-like durability setting.
"""

import argparse
import json
import os
import sys
import threading
import time

from dbos import DBOS, DBOSConfig

FANOUT_QUEUE = "bench_fanout"

# Set from the command line before any workflow runs.
POLL_S = 0.01


@DBOS.step()
def Echo(x):
    return x


@DBOS.step()
def Inc(x):
    return x + 1


@DBOS.workflow()
def HelloWorkflow(x):
    return Echo(x)


@DBOS.workflow()
def EchoTask(i):
    return Echo(i)


@DBOS.workflow()
def FanOutWorkflow(n):
    handles = [DBOS.enqueue_workflow(FANOUT_QUEUE, EchoTask, i) for i in range(n)]
    return [h.get_result(polling_interval_sec=POLL_S) for h in handles]


@DBOS.workflow()
def ChainWorkflow(n):
    v = 0
    for _ in range(n):
        v = Inc(v)
    return v


def run_hello(args):
    t0 = time.time()
    inflight = []  # (input, handle), oldest first
    started = 0
    done = 0
    while done < args.n:
        while started < args.n and len(inflight) < args.in_flight:
            inflight.append((started, DBOS.start_workflow(HelloWorkflow, started)))
            started += 1
        x, handle = inflight.pop(0)
        r = handle.get_result()
        if r != x:
            raise RuntimeError(f"hello {handle.get_workflow_id()} returned {r!r}, expected {x!r}")
        done += 1
    elapsed = time.time() - t0
    return {"seconds": elapsed, "throughput": args.n / elapsed}


def run_batch(args):
    """Shape (b) of workload.py: start all N workflows at once, then wait for every one."""
    t0 = time.time()
    handles = [(i, DBOS.start_workflow(HelloWorkflow, i)) for i in range(args.n)]
    for x, handle in handles:
        r = handle.get_result()
        if r != x:
            raise RuntimeError(f"batch {handle.get_workflow_id()} returned {r!r}, expected {x!r}")
    elapsed = time.time() - t0
    return {"seconds": elapsed, "throughput": args.n / elapsed}


def run_fanout(args):
    t0 = time.time()
    r = DBOS.start_workflow(FanOutWorkflow, args.n).get_result()
    elapsed = time.time() - t0
    if not isinstance(r, list) or len(r) != args.n:
        got = len(r) if isinstance(r, list) else repr(r)
        raise RuntimeError(f"fanout returned {got} results, expected {args.n}")
    if r != list(range(args.n)):
        raise RuntimeError("fanout results do not match the inputs")
    return {"seconds": elapsed}


def run_chain(args):
    t0 = time.time()
    r = DBOS.start_workflow(ChainWorkflow, args.n).get_result()
    elapsed = time.time() - t0
    if r != args.n:
        raise RuntimeError(f"chain returned {r!r}, expected {args.n}")
    return {"seconds": elapsed}


def use_wal_normal(path):
    """Opt-in (--sqlite-wal): WAL is a property of the file, synchronous is per connection,
    so set it on every SQLAlchemy connection DBOS opens."""
    import sqlite3

    import sqlalchemy as sa

    con = sqlite3.connect(path)
    mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    con.close()
    if mode.lower() != "wal":
        raise RuntimeError(f"could not enable WAL (journal_mode={mode})")

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _sync_normal(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")


def main():
    global POLL_S
    p = argparse.ArgumentParser()
    p.add_argument("--workload", required=True, choices=["hello", "batch", "fanout", "chain"])
    p.add_argument("--db", required=True, help="SQLite system database file (fresh)")
    p.add_argument("--n", type=int, default=None,
                   help="hello: 1000 workflows, fanout: 2000 tasks, chain: 1000 steps")
    p.add_argument("--in-flight", type=int, default=50)
    p.add_argument("--worker-concurrency", type=int, default=2,
                   help="fanout queue worker_concurrency (duroxide workload.py default: 2)")
    p.add_argument("--poll-ms", type=int, default=10,
                   help="queue polling interval and get_result polling, in ms")
    p.add_argument("--timeout", type=int, default=600, help="seconds before giving up")
    p.add_argument("--sqlite-wal", action="store_true",
                   help="not DBOS's default: journal_mode=WAL + synchronous=NORMAL, the "
                        "settings duroxide's SqliteProvider uses (default: DBOS's own, "
                        "rollback journal + synchronous=FULL, one fsync per commit)")
    args = p.parse_args()
    if args.n is None:
        args.n = 2000 if args.workload == "fanout" else 1000
    POLL_S = max(args.poll_ms, 1) / 1000.0

    out = {"system": "dbos", "workload": args.workload, "n": args.n,
           "in_flight": args.in_flight, "seconds": None, "ok": True, "error": None}
    if args.workload in ("hello", "batch"):
        out["throughput"] = None

    launched = False
    try:
        if args.sqlite_wal:
            use_wal_normal(args.db)
        config: DBOSConfig = {
            "name": "duroxide-bench",
            "system_database_url": f"sqlite:///{os.path.abspath(args.db)}",
            "log_level": "WARNING",
        }
        DBOS(config=config)
        DBOS.launch()
        launched = True
        if args.workload == "fanout":
            DBOS.register_queue(FANOUT_QUEUE, worker_concurrency=args.worker_concurrency,
                                polling_interval_sec=POLL_S)

        runner = {"hello": run_hello, "batch": run_batch, "fanout": run_fanout,
                  "chain": run_chain}[args.workload]
        result = {}

        def target():
            try:
                result["value"] = runner(args)
            except BaseException as exc:  # reported, not raised
                result["error"] = exc

        # DBOS handles have no timeout of their own, so the workload runs in a thread.
        t = threading.Thread(target=target, name="bench-driver", daemon=True)
        t.start()
        t.join(args.timeout)
        if t.is_alive():
            raise TimeoutError(f"workload did not finish within {args.timeout} s")
        if "error" in result:
            raise result["error"]
        out.update(result["value"])
    except BaseException as exc:
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"

    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    if launched:
        try:
            DBOS.destroy(destroy_registry=True)
        except BaseException as exc:
            sys.stderr.write(f"DBOS.destroy failed: {exc}\n")
    sys.stderr.flush()
    if not out["ok"]:
        os._exit(0)  # ok=false carries the failure; a stuck driver thread must not hang exit


if __name__ == "__main__":
    main()
