"""What an idle fleet costs a PostgreSQL server: transactions per second of K idle worker
processes (each a Runtime with run.py's options: 2+2 slots, 10 ms poll), no work at all.

    python benchmarks/pg_idle.py --a /path/a-python --b /path/b-python --procs 1,8 --reps 2

Every idle read (a schedule-loop pass, a topic-delivery poll, an idle dispatcher's
visibility read) is a transaction, so the server's xact_commit over a quiet window counts
them. One throwaway durable cluster (run.py's Postgres), a fresh database per run, A and B
alternating. A build is an interpreter (or a script that sets PYTHONPATH and execs one).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (run.py of this directory)

WORKER = r"""
import sys, time, duroxide
url, seconds = sys.argv[1], float(sys.argv[2])
rt = duroxide.Runtime(duroxide.PostgresProvider.connect(url), duroxide.RuntimeOptions(
    orchestration_concurrency=2, worker_concurrency=2, dispatcher_poll_interval_ms=10))
rt.start()
print("ready", flush=True)
time.sleep(seconds)
rt.shutdown(1000)
"""


def commits(pg, db):
    # Read from the maintenance database, so the reads are not counted in `db`.
    pg.sql("SELECT pg_stat_clear_snapshot()")
    return int(pg.sql(f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{db}'"))


def run_once(pg, python, procs, window_s):
    db, url = pg.create_database("idle")
    workers = [subprocess.Popen([python, "-c", WORKER, url, str(window_s + 6)],
                                stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    try:
        for w in workers:
            assert w.stdout.readline().strip() == "ready"
        time.sleep(2)  # past start-up (migrations, registration, the first passes)
        before = commits(pg, db)
        time.sleep(window_s)
        after = commits(pg, db)
    finally:
        for w in workers:
            w.wait(60)
        pg.drop_database(db)
    return (after - before) / window_s


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--procs", default="1,8")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--window", type=float, default=10.0)
    args = p.parse_args()
    pythons = {"A": args.a, "B": args.b}
    out = {}
    pg = R.Postgres()
    pg.start()
    try:
        for rep in range(args.reps):
            for procs in [int(x) for x in args.procs.split(",")]:
                for side in ("A", "B") if rep % 2 == 0 else ("B", "A"):
                    load = os.getloadavg()[0]
                    tps = run_once(pg, pythons[side], procs, args.window)
                    out.setdefault((procs, side), []).append(tps)
                    print(f"{procs} procs {side}: {tps:.1f} idle transactions/s (load {load:.1f})",
                          flush=True)
    finally:
        pg.stop()
    print("medians")
    for (procs, side), values in sorted(out.items()):
        print(f"  {procs} procs {side}: {statistics.median(values):.1f}/s "
              f"({statistics.median(values) / procs:.1f}/s per process)")


if __name__ == "__main__":
    main()
