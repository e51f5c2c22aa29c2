"""A/B of the worker registry's cost on the hello workload (docs/deployment.md).

    .venv/bin/python benchmarks/fleet_ab.py [--n 3000] [--runs 3]

Runs benchmarks/workload.py --workload hello on a fresh SQLite file per run, alternating
heartbeats off (heartbeat_interval_ms=0: no registry, no placement), the default (5000 ms,
placement view refreshed every 100 ms) and fast heartbeats (200 ms), and prints the median
throughput of each and its difference to "off".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = {"off": 0, "default": 5000, "fast": 200}


def run_once(n: int, heartbeat_ms: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, os.path.join(HERE, "workload.py"), "--workload", "hello",
               "--n", str(n), "--in-flight", "50", "--db", os.path.join(tmp, "b.db"),
               "--heartbeat-ms", str(heartbeat_ms)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        if not result["ok"]:
            raise RuntimeError(result["error"])
        for key in ("throughput", "per_sec", "orchestrations_per_sec"):
            if key in result:
                return float(result[key])
        raise KeyError(f"no throughput in {result}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    results: Dict[str, List[float]] = {k: [] for k in VARIANTS}
    for _ in range(args.runs):
        for name, hb in VARIANTS.items():
            results[name].append(run_once(args.n, hb))
    base = statistics.median(results["off"])
    for name, values in results.items():
        med = statistics.median(values)
        print(f"{name:8s} heartbeat_interval_ms={VARIANTS[name]:5d}  median {med:8.1f}/s  "
              f"runs {[round(v, 1) for v in values]}  vs off {100 * (med - base) / base:+.1f}%")


if __name__ == "__main__":
    main()
