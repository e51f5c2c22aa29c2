"""A/B of two builds (or two option sets) of duroxide on one workload, alternating runs.

    python benchmarks/ab.py --a /path/to/old/.venv/bin/python --b .venv/bin/python \\
        --workload batch --n 4000 --reps 5 [-- extra workload.py args]
    python benchmarks/ab.py --b-args "--activity-handoff off" --workload hello --n 4000
    python benchmarks/ab.py --a-env DUROXIDE_SQLITE_UNBOUNDED_BATCH=1 --workload batch

Each run is a fresh process on a fresh SQLite file (workload.py); A and B alternate run by run,
so drift of a shared machine hits both alike. Prints every run, the medians and B/A.
"""

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")


def run(python, workload, n, extra, timeout, env_extra):
    with tempfile.TemporaryDirectory(prefix="ab-") as d:
        cmd = [python, os.path.join(HERE, "workload.py"), "--workload", workload,
               "--db", os.path.join(d, "ab.db"), "--n", str(n), *extra]
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env.update(env_extra)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError(f"no result: {out.stderr[-400:]}")
        r = json.loads(lines[-1])
        if not r.get("ok"):
            raise RuntimeError(r.get("error"))
        # CPU of the whole process (all threads, interpreter start included) per item: far
        # less sensitive than throughput to what else the machine runs.
        r["cpu_us_per_item"] = cpu_s / n * 1e6
        return r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", default=DEFAULT_PYTHON, help="interpreter of build A")
    p.add_argument("--b", default=DEFAULT_PYTHON, help="interpreter of build B")
    p.add_argument("--a-args", default="", help="extra workload.py args for A")
    p.add_argument("--b-args", default="", help="extra workload.py args for B")
    p.add_argument("--a-env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment variable for A's runs (repeatable)")
    p.add_argument("--b-env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment variable for B's runs (repeatable)")
    p.add_argument("--workload", default="batch")
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("extra", nargs="*", help="workload.py args for both (after --)")
    args = p.parse_args()
    key = "throughput" if args.workload in ("hello", "batch", "io") else "seconds"
    figures = {"A": [], "B": []}
    cpu = {"A": [], "B": []}
    for rep in range(args.reps):
        for name, python, own, envs in (("A", args.a, args.a_args, args.a_env),
                                        ("B", args.b, args.b_args, args.b_env)):
            env_extra = dict(e.split("=", 1) for e in envs)
            r = run(python, args.workload, args.n, [*args.extra, *shlex.split(own)],
                    args.timeout, env_extra)
            figures[name].append(r[key])
            cpu[name].append(r["cpu_us_per_item"])
            print(f"rep {rep + 1} {name}: {key} {r[key]:.1f}, "
                  f"CPU {r['cpu_us_per_item']:.0f} us/item", flush=True)
    med = {k: statistics.median(v) for k, v in figures.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print(json.dumps({"workload": args.workload, "n": args.n, "reps": args.reps, "key": key,
                      "median_a": round(med["A"], 1), "median_b": round(med["B"], 1),
                      "b_over_a": round(med["B"] / med["A"], 3),
                      "cpu_us_per_item_a": round(med_cpu["A"]),
                      "cpu_us_per_item_b": round(med_cpu["B"]),
                      "a": [round(x, 1) for x in figures["A"]],
                      "b": [round(x, 1) for x in figures["B"]]}))


if __name__ == "__main__":
    sys.exit(main())
