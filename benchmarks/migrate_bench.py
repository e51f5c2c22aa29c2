"""Migration benchmark (issue 29): migrate a SQLite store of 100,000 finished and 10,000 running
instances to PostgreSQL (or to another SQLite file) and report instances/s and peak RSS.

    python benchmarks/migrate_bench.py                  # full size, SQLite -> PostgreSQL
    python benchmarks/migrate_bench.py --scale 0.05     # quick run (5,000 + 500)
    python benchmarks/migrate_bench.py --target sqlite  # SQLite -> SQLite

The source is built from a template of real instances (run by a runtime: 100 finished ones
with an activity and KV, 10 running ones waiting on a timer with a queued activity), whose
rows are then cloned under new ids with plain SQL, so that a store of 110,000 instances takes
seconds to build instead of an hour. The migration runs in a child process so that its peak
RSS (ru_maxrss) is its own. PostgreSQL: $DATABASE_URL, else a throwaway cluster
(tests/pg_cluster.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "tests"))

TEMPLATE_DONE, TEMPLATE_RUNNING = 100, 10


def build_template(path: str) -> None:
    import duroxide
    from duroxide import Client, Registry, Runtime, RuntimeOptions, SqliteProvider

    reg = Registry()

    @reg.register_activity("Work")
    def work(ctx, x):
        return {"x": x, "payload": "p" * 200}

    @reg.register_orchestration("Job")
    def job(ctx, x):
        ctx.set_kv_value("step", "1")
        r = yield ctx.schedule_activity("Work", x)
        ctx.set_custom_status("worked")
        if x >= TEMPLATE_DONE:
            yield ctx.schedule_timer(3_600_000)
            yield ctx.schedule_activity("Work", x)
        return r

    p = SqliteProvider.open(path)
    rt = Runtime(p, RuntimeOptions(dispatcher_poll_interval_ms=10), registry=reg)
    rt.start()
    c = Client(p)
    for i in range(TEMPLATE_DONE + TEMPLATE_RUNNING):
        c.start_orchestration(f"t{i:04d}", "Job", i)
    for i in range(TEMPLATE_DONE):
        c.wait_for_orchestration(f"t{i:04d}", 60000)
    deadline = time.time() + 60
    while time.time() < deadline:
        if all(c.get_status(f"t{i:04d}").custom_status == "worked"
               for i in range(TEMPLATE_DONE, TEMPLATE_DONE + TEMPLATE_RUNNING)):
            break
        time.sleep(0.05)
    rt.shutdown(2000)
    p.close()
    del duroxide


def clone(path: str, copies: int) -> None:
    """Adds `copies` copies of every template instance (ids suffixed -k), table by table."""
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for t in tables:
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{t}")')]
        if "instance_id" not in cols or t in ("instance_locks", "sessions"):
            continue
        keep = [c for c in cols if c != "id"]
        select = ", ".join("instance_id || ?" if c == "instance_id" else c for c in keep)
        sql = (f'INSERT INTO "{t}" ({", ".join(keep)}) SELECT {select} FROM "{t}" '
               f"WHERE instance_id GLOB 't[0-9][0-9][0-9][0-9]'")
        for k in range(1, copies):
            db.execute(sql, (f"-{k}",))
    db.commit()
    db.close()


def child(source: str, target: str, schema: str) -> None:
    import duroxide
    from duroxide._providers import PostgresProvider

    dst = PostgresProvider.connect_with_schema(target, schema) if schema else target
    report = duroxide.migrate(source, dst, force=True)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"instances": report.instances_copied, "seconds": report.seconds,
                      "rows": sum(report.counts.values()), "verified": report.verified,
                      "peak_rss_mb": peak_kb / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of 100,000 finished + 10,000 running instances")
    ap.add_argument("--target", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    copies = max(1, round(1000 * args.scale))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src.db")
        t0 = time.monotonic()
        build_template(src)
        clone(src, copies)
        print(f"source: {copies * (TEMPLATE_DONE + TEMPLATE_RUNNING)} instances "
              f"({copies * TEMPLATE_DONE} finished, {copies * TEMPLATE_RUNNING} running), "
              f"{os.path.getsize(src) / 1e6:.0f} MB, built in {time.monotonic() - t0:.0f}s",
              flush=True)
        if args.target == "sqlite":
            run(src, os.path.join(tmp, "dst.db"), "")
            return
        import pg_cluster

        with pg_cluster.database_url() as url:
            schema = pg_cluster.unique_schema("bench")
            try:
                run(src, url, schema)
            finally:
                pg_cluster.drop_schema(url, schema)


def run(src: str, target: str, schema: str) -> None:
    out = subprocess.run([sys.executable, __file__, "--child", src, target, schema],
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "python")})
    if out.returncode != 0:
        sys.exit(out.stderr)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"migrated {r['instances']} instances ({r['rows']} rows) in {r['seconds']:.1f}s: "
          f"{r['instances'] / r['seconds']:.0f} instances/s, {r['rows'] / r['seconds']:.0f} "
          f"rows/s, peak RSS {r['peak_rss_mb']:.0f} MB, verified={r['verified']}")


if __name__ == "__main__":
    main()
