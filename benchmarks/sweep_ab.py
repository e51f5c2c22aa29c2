"""Slot sweep A/B of the adaptive dispatcher count: fixed against adaptive, one build.

    python benchmarks/sweep_ab.py --python .venv/bin/python --rounds 5 --workload batch \\
        --n 4000 --slots 1,2,4,8 [--pythonpath /path/to/tree/python]

Every configuration (N+N slots, `DUROXIDE_DISPATCHERS=fixed` or the adaptive default; 1+1 has
no choice and runs once) runs once per round, in the same order every round, so drift of a
shared machine hits all of them alike. Each run is a fresh process on a fresh SQLite file
(benchmarks/ab.py's `run`). Prints the medians of throughput (batch, hello) or of the latency
row's p50, and the whole-process CPU per item.
"""

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ab  # noqa: E402  (benchmarks/ab.py)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--python", default=ab.DEFAULT_PYTHON)
    p.add_argument("--pythonpath", default=None, help="PYTHONPATH of the runs (a source tree)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--workload", default="batch", choices=["batch", "hello", "latency"])
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--slots", default="1,2,4,8")
    args = p.parse_args()
    configs = []
    for s in (int(x) for x in args.slots.split(",")):
        for mode in ("fixed", "adaptive"):
            if s > 1 or mode == "adaptive":
                configs.append((f"{s}+{s} {mode}", s, mode))
    key = "p50_ms" if args.workload == "latency" else "throughput"
    figures = {name: [] for name, _, _ in configs}
    cpu = {name: [] for name, _, _ in configs}
    for r in range(args.rounds):
        for name, s, mode in configs:
            env = {"PYTHONPATH": args.pythonpath} if args.pythonpath else {}
            if mode == "fixed":
                env["DUROXIDE_DISPATCHERS"] = "fixed"
            extra = ["--orchestration-concurrency", str(s), "--worker-concurrency", str(s)]
            out = ab.run(args.python, args.workload, args.n, extra, 600, env)
            figures[name].append(out[key])
            cpu[name].append(out["cpu_us_per_item"])
        print(f"round {r + 1}, load {os.getloadavg()[0]:.1f}", flush=True)
    for name, _, _ in configs:
        print(f"{name:16s} {key} {statistics.median(figures[name]):8.1f}  "
              f"CPU {statistics.median(cpu[name]):5.0f} us/item  "
              f"runs {[round(x, 1) for x in figures[name]]}")


if __name__ == "__main__":
    sys.exit(main())
