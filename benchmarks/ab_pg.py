"""A/B of two builds of duroxide on the PostgreSQL rows of run.py, alternating run by run.

    python benchmarks/ab_pg.py --a /old/.venv/bin/python --b .venv/bin/python \\
        --rows "pg scale 2 workers,pg scale 8 workers,pg hello 2 procs" --reps 3 --n 1000

Both sides run on one throwaway durable cluster (run.py's Postgres: fsync and
synchronous_commit on), each run on a fresh database, A and B alternating (and which goes first
alternating from one repetition to the next), so drift of a shared machine hits both alike. A
build is an interpreter; to compare two source trees with one venv, pass a small shell script
that sets PYTHONPATH and execs the venv's python. Prints every run and the medians of:
orchestrations per second, WAL flushes and commits per orchestration, the server's CPU per
orchestration (postmaster and children) and the client processes' CPU per orchestration, with
the load average at the start of each run.
"""

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (run.py of this directory)

COMMON = ["--orchestration-concurrency", "2", "--worker-concurrency", "2", "--poll-ms", "10"]


def figures(result, n, load):
    stats = result.get("pg_stats", {})
    return {"per_s": result.get("throughput") or n / result["seconds"],
            "flushes": stats.get("wal_sync", 0) / n,
            "commits": stats.get("xact_commit", 0) / n,
            "server_ms": (result.get("server_cpu_s") or 0) / n * 1e3,
            "client_ms": result["client_cpu_s"] / n * 1e3,
            "load": load}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="interpreter of build A")
    p.add_argument("--b", required=True, help="interpreter of build B")
    p.add_argument("--rows", default="pg scale 2 workers,pg scale 8 workers",
                   help="comma-separated labels of run.py's FULL plan (pg-hello rows)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--n", type=int, default=1000, help="hellos per run (overrides the row's)")
    args = p.parse_args()
    R.PYTHONS["A"], R.PYTHONS["B"] = args.a, args.b
    labels = [label.strip() for label in args.rows.split(",") if label.strip()]
    rows = {label: wargs for workload, label, wargs in R.FULL if workload == "pg-hello"}
    unknown = [label for label in labels if label not in rows]
    if unknown:
        sys.exit(f"not a pg-hello row of run.py: {unknown}")
    out = {}
    pg = R.Postgres()
    pg.start()
    try:
        for rep in range(args.reps):
            for label in labels:
                wargs = list(rows[label])
                wargs[wargs.index("--n") + 1] = str(args.n)
                for side in ("A", "B") if rep % 2 == 0 else ("B", "A"):
                    load = os.getloadavg()[0]
                    r = R.run_one(side, "pg-hello", wargs, COMMON, 600, pg)
                    if not r.get("ok"):
                        print(label, side, "failed:", r.get("error"), flush=True)
                        continue
                    fig = figures(r, args.n, load)
                    out.setdefault((label, side), []).append(fig)
                    print(label, side, json.dumps({k: round(v, 2) for k, v in fig.items()}),
                          flush=True)
    finally:
        pg.stop()
    print("medians")
    for label in labels:
        med = {}
        for side in ("A", "B"):
            runs = out.get((label, side))
            if runs:
                med[side] = {k: statistics.median(f[k] for f in runs) for k in runs[0]}
                print(f"  {label} {side}", {k: round(v, 2) for k, v in med[side].items()})
        if len(med) == 2:
            print(f"  {label} B/A per_s {med['B']['per_s'] / med['A']['per_s']:.3f}, "
                  f"server_ms {med['B']['server_ms'] / med['A']['server_ms']:.3f}")


if __name__ == "__main__":
    main()
