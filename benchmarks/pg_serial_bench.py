"""Hellos one at a time on PostgreSQL: WAL flushes and latency per orchestration, A/B.

    python benchmarks/pg_serial_bench.py --a A.sh --b B.sh --n 300 --reps 3

With one orchestration in flight no commit shares a WAL flush with another, so the flushes per
orchestration count the durable commits of one hello (the start, turn 1, the activity's
completion unless it rides with a fetch, turn 2). A and B are interpreters (or scripts that
set PYTHONPATH / environment and exec one), alternating run by run on one throwaway durable
cluster (run.py's Postgres), each run on a fresh database. Prints every run and the medians.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (run.py of this directory)

CHILD = """
import json, sys, time
import duroxide
from duroxide import Client, Runtime, RuntimeOptions
url, n = sys.argv[1], int(sys.argv[2])
provider = duroxide.PostgresProvider.connect(url)
rt = Runtime(provider, RuntimeOptions(orchestration_concurrency=2, worker_concurrency=2,
                                      dispatcher_poll_interval_ms=10))

@rt.register_activity("Hello")
def hello(ctx, name):
    return "Hello, " + name

@rt.register_orchestration("HelloWorld")
def hello_world(ctx, name):
    return (yield ctx.schedule_activity("Hello", name))

rt.start()
client = Client(provider)
client.start_orchestration("warm", "HelloWorld", "w")
client.wait_for_orchestration("warm", 30000)
print("ready", flush=True)
sys.stdin.readline()
lat = []
t0 = time.perf_counter()
for i in range(n):
    s = time.perf_counter()
    client.start_orchestration(f"h{i}", "HelloWorld", str(i))
    r = client.wait_for_orchestration(f"h{i}", 30000)
    assert r.status == "Completed", r.error
    lat.append(time.perf_counter() - s)
wall = time.perf_counter() - t0
print("done", flush=True)
sys.stdin.readline()
rt.shutdown(5000)
lat.sort()
print(json.dumps({"per_s": n / wall, "p50_ms": lat[len(lat) // 2] * 1e3,
                  "p90_ms": lat[int(len(lat) * 0.9)] * 1e3}), flush=True)
"""


def wal_syncs(pg, url):
    return int(pg.sql("SELECT wal_sync FROM pg_stat_wal", url))


def one_run(pg, python, n, db):
    pg.sql(f"CREATE DATABASE {db}")
    url = pg.url.rsplit("/", 1)[0] + "/" + db
    proc = subprocess.Popen([python, "-c", CHILD, url, str(n)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    before = wal_syncs(pg, url)
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "done"
    after = wal_syncs(pg, url)
    out, _ = proc.communicate("stop\n", timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    result["flushes"] = (after - before) / n
    result["load"] = os.getloadavg()[0]
    return {k: round(v, 2) for k, v in result.items()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True)
    p.add_argument("--b", required=True)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    pg = R.Postgres()
    pg.start()
    runs = {"A": [], "B": []}
    try:
        for rep in range(args.reps):
            order = ["A", "B"] if rep % 2 == 0 else ["B", "A"]
            for side in order:
                python = args.a if side == "A" else args.b
                r = one_run(pg, python, args.n, f"serial_{side.lower()}_{rep}")
                runs[side].append(r)
                print(side, json.dumps(r), flush=True)
    finally:
        pg.stop()
    print("medians")
    for side in ("A", "B"):
        keys = runs[side][0].keys()
        print(" ", side, {k: round(statistics.median(r[k] for r in runs[side]), 2) for k in keys})


if __name__ == "__main__":
    main()
