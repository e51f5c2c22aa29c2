"""Runs the benchmark suite on duroxide, the reference package and DBOS, side by side.

    benchmarks/run.sh            # sets everything up, then runs this
    python benchmarks/run.py --systems duroxide,reference,dbos --quick

Each workload runs in a fresh process on a fresh SQLite file, systems alternating, so machine
drift affects all of them alike. Prints a table and writes benchmarks/results/latest.json.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHONS = {
    "duroxide": os.path.join(ROOT, ".venv", "bin", "python"),
    "reference": os.path.join(HERE, ".venv-ref", "bin", "python"),
    "dbos": os.path.join(HERE, ".venv-dbos", "bin", "python"),
}

# workload, label, workload args; the same for every system.
FULL = [
    ("hello", "hello", ["--n", "2000", "--in-flight", "50"]),
    ("fanout", "fan-out 2000", ["--n", "2000"]),
    ("chain", "chain 500", ["--n", "500"]),
    ("chain", "chain 1000", ["--n", "1000"]),
    ("chain", "chain 2000", ["--n", "2000"]),
    ("latency", "latency", ["--n", "200", "--warmup", "20"]),
    ("waiting", "waiting 20000", ["--n", "20000"]),
]
QUICK = [
    ("hello", "hello", ["--n", "500", "--in-flight", "50"]),
    ("fanout", "fan-out 500", ["--n", "500"]),
    ("chain", "chain 250", ["--n", "250"]),
    ("chain", "chain 500", ["--n", "500"]),
    ("latency", "latency", ["--n", "50", "--warmup", "10"]),
    ("waiting", "waiting 2000", ["--n", "2000"]),
]
DBOS_WORKLOADS = {"hello", "fanout", "chain"}


def run_one(system, workload, args, common, timeout_s):
    db_dir = tempfile.mkdtemp(prefix=f"bench-{system}-")
    db = os.path.join(db_dir, "bench.db")
    script = "dbos_workload.py" if system == "dbos" else "workload.py"
    cmd = [PYTHONS[system], os.path.join(HERE, script), "--workload", workload, "--db", db,
           *args]
    if system != "dbos":
        cmd += [*common, "--system", system, "--timeout", str(timeout_s)]
    else:
        # Same durability settings as duroxide's SQLite provider: WAL, synchronous=NORMAL.
        cmd += ["--worker-concurrency", common[common.index("--worker-concurrency") + 1],
                "--poll-ms", common[common.index("--poll-ms") + 1], "--sqlite-wal"]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    t0 = time.time()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 30,
                              env=env)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
        if not lines:
            return {"ok": False, "error": f"no result (exit {proc.returncode}): "
                                          f"{proc.stderr.strip()[-300:]}"}
        return json.loads(lines[-1])
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"did not finish in {timeout_s} s",
                "seconds": time.time() - t0}
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)


def fmt(result, workload):
    if not result or not result.get("ok"):
        if result is None:
            return "n/a"
        error = str(result.get("error", ""))
        return error if error.startswith("did not finish") else "FAILED: " + error[:40]
    if workload == "hello":
        return f"{result['throughput']:.0f}/s"
    if workload == "latency":
        return f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
    if workload == "waiting":
        return (f"start {result['start_s']:.1f} s, RSS {result['rss_mb']:.0f} MB, "
                f"release {result['release_s']:.1f} s")
    return f"{result['seconds']:.2f} s"


def ratio(ours, other, workload):
    if not (ours and other and ours.get("ok") and other.get("ok")):
        return ""
    if workload == "hello":
        return f"{ours['throughput'] / other['throughput']:.1f}x"
    if workload == "latency":
        return f"{other['p50_ms'] / ours['p50_ms']:.1f}x"
    return f"{other['seconds'] / ours['seconds']:.1f}x"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--systems", default="duroxide,reference,dbos")
    p.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    p.add_argument("--only", default="", help="comma-separated labels to run")
    p.add_argument("--timeout", type=int, default=600, help="per run, seconds")
    p.add_argument("--orchestration-concurrency", type=int, default=2)
    p.add_argument("--worker-concurrency", type=int, default=2)
    p.add_argument("--poll-ms", type=int, default=10)
    p.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"))
    args = p.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    for s in systems:
        if not os.path.exists(PYTHONS[s]):
            sys.exit(f"{s}: {PYTHONS[s]} is missing; run benchmarks/run.sh")
    common = ["--orchestration-concurrency", str(args.orchestration_concurrency),
              "--worker-concurrency", str(args.worker_concurrency),
              "--poll-ms", str(args.poll_ms)]
    plan = QUICK if args.quick else FULL
    if args.only:
        wanted = set(args.only.split(","))
        plan = [w for w in plan if w[1] in wanted]

    results = {}
    for workload, label, wargs in plan:
        for system in systems:
            if system == "dbos" and workload not in DBOS_WORKLOADS:
                continue
            r = run_one(system, workload, wargs, common, args.timeout)
            results[(label, system)] = r
            print(f"  {label:<14} {system:<10} {fmt(r, workload)}", file=sys.stderr, flush=True)

    header = f"| workload | {' | '.join(systems)} | " + " | ".join(
        f"duroxide vs {s}" for s in systems if s != "duroxide") + " |"
    lines = [header, "|" + "---|" * (len(systems) * 2)]
    for workload, label, _ in plan:
        row = [fmt(results.get((label, s)), workload) for s in systems]
        ratios = [ratio(results.get((label, "duroxide")), results.get((label, s)), workload)
                  for s in systems if s != "duroxide"]
        lines.append(f"| {label} | " + " | ".join(row + ratios) + " |")
    chain = {label: results.get((label, "duroxide")) for _, label, _ in plan
             if label.startswith("chain")}
    table = "\n".join(lines)
    print(table)
    summary = {}
    for sys_name in systems:
        c1 = results.get(("chain 1000", sys_name))
        c2 = results.get(("chain 2000", sys_name))
        if c1 and c2 and c1.get("ok") and c2.get("ok"):
            summary[f"chain_growth_{sys_name}"] = c2["seconds"] / c1["seconds"]
            print(f"chain growth t(2000)/t(1000) {sys_name}: {summary[f'chain_growth_{sys_name}']:.2f}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "options": vars(args),
            "results": [{"label": k[0], "system": k[1], **(v or {})} for k, v in results.items()],
            "summary": summary,
            "table": table,
        }, f, indent=2)


if __name__ == "__main__":
    main()
