"""Task-graph and capability-routing benchmarks (docs/task-graphs.md).

1. Capability filtering cost: one orchestration fans out N activities (default 2,000) and
   waits for all of them, once with untagged activities and once with every activity
   requiring a schema the worker satisfies. Target: the schema run loses at most 10% of
   activity throughput.
2. Graph overhead: a graph of about 1,000 nodes (fan-out, chains, fan-in) run as one yield,
   against the same work written as explicit ctx.all waves. Target: within 1.5x.

    .venv/bin/python benchmarks/graphs.py [--fanout 2000] [--width 330] [--json out.json]

Runs on a SQLite file in a temporary directory, one runtime in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from typing import Any, Dict, List

from duroxide import Client, Registry, Runtime, RuntimeOptions, SqliteProvider

SCHEMA = {"type": "object", "properties": {"os": {"const": "linux"}}, "required": ["os"]}


def build_registry() -> Registry:
    reg = Registry()
    reg.register_activity("Plain", lambda ctx, x: x)
    reg.register_activity("Routed", lambda ctx, x: x, requires=SCHEMA)

    @reg.register_orchestration("FanOut")
    def fan_out(ctx: Any, inp: Dict[str, Any]) -> Any:
        name = inp["activity"]
        results = yield ctx.all([ctx.schedule_activity(name, i) for i in range(inp["n"])])
        return len(results)

    @reg.task()
    def step(x: Any, *rest: Any) -> int:
        return 1

    @reg.register_orchestration("Graph")
    def graph(ctx: Any, width: int) -> Any:
        root = step(0)
        heads = [step(step(step(root, i), i), i) for i in range(width)]   # fan-out + chains
        groups = [step(*heads[g::10]) for g in range(10)]                 # fan-in
        result = yield step(*groups)
        return result

    @reg.register_orchestration("Waves")
    def waves(ctx: Any, width: int) -> Any:
        yield ctx.schedule_activity("step", {"args": [0], "kwargs": {}, "node": 0, "deps": []})
        for _level in range(3):
            yield ctx.all([ctx.schedule_activity("step", {"args": [1, i], "kwargs": {},
                                                          "node": 0, "deps": []})
                           for i in range(width)])
        yield ctx.all([ctx.schedule_activity("step", {"args": [1], "kwargs": {}, "node": 0,
                                                      "deps": []}) for _ in range(10)])
        result = yield ctx.schedule_activity("step", {"args": [1], "kwargs": {}, "node": 0,
                                                      "deps": []})
        return result

    return reg


def timed(client: Client, iid: str, name: str, inp: Any) -> float:
    t0 = time.perf_counter()
    client.start_orchestration(iid, name, inp)
    result = client.wait_for_orchestration(iid, 600000)
    elapsed = time.perf_counter() - t0
    if result.status != "Completed":
        raise SystemExit(f"{iid} failed: {result.error}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fanout", type=int, default=2000)
    parser.add_argument("--width", type=int, default=330, help="graph fan-out width "
                        "(nodes = 3 * width + 12)")
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds (medians)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="duroxide-graphs-bench-")
    try:
        provider = SqliteProvider.open(os.path.join(workdir, "bench.db"))
        rt = Runtime(provider, RuntimeOptions(capabilities={"os": "linux"}),
                     registry=build_registry())
        rt.start()
        client = Client(provider)
        timed(client, "warmup", "FanOut", {"activity": "Routed", "n": 50})
        figures: Dict[str, Any] = {"rounds": args.rounds}
        times: Dict[str, List[float]] = {"plain": [], "schema": [], "graph": [], "waves": []}
        for r in range(args.rounds):  # alternated, so that machine noise hits both alike
            for label, activity in (("plain", "Plain"), ("schema", "Routed")):
                times[label].append(timed(client, f"fan-{label}-{r}", "FanOut",
                                          {"activity": activity, "n": args.fanout}))
            times["graph"].append(timed(client, f"graph-{r}", "Graph", args.width))
            times["waves"].append(timed(client, f"waves-{r}", "Waves", args.width))
        med = {k: statistics.median(v) for k, v in times.items()}
        figures["fanout"] = args.fanout
        figures["fanout_plain_median_s"] = round(med["plain"], 3)
        figures["fanout_schema_median_s"] = round(med["schema"], 3)
        figures["fanout_plain_acts_per_s"] = round(args.fanout / med["plain"])
        figures["fanout_schema_acts_per_s"] = round(args.fanout / med["schema"])
        figures["schema_throughput_loss_pct"] = round((1 - med["plain"] / med["schema"]) * 100, 1)
        figures["graph_nodes"] = 3 * args.width + 12
        figures["graph_median_s"] = round(med["graph"], 3)
        figures["explicit_all_median_s"] = round(med["waves"], 3)
        figures["graph_over_explicit"] = round(med["graph"] / med["waves"], 2)
        figures["all_runs_s"] = {k: [round(x, 3) for x in v] for k, v in times.items()}
        rt.shutdown(3000)
        for key, value in figures.items():
            print(f"{key:>28}: {value}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
