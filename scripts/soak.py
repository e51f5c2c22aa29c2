"""Soak run (issue 21, item 7; docs/reliability.md, "Soak").

Worker processes (scripts/soak_worker.py) serve a mixed workload (activities, timers,
sub-orchestrations, queue events, KV, continue-as-new, actor messaging, requests, task graphs)
on one store for --minutes while this process keeps submitting work and injects faults:
a SIGKILL of a random worker (not the first one, the "survivor", which lives through the whole
run) every --kill-interval seconds, and on PostgreSQL a server restart (fast and immediate
alternately) every --restart-interval seconds.

Each worker process is a generation. At the start (once it is ready) and at the end (right
before it is killed, or when the run ends) of every generation, and every 30 s for the
survivor and this process, it records the process's RSS, open file descriptors, threads and
store connections (PostgreSQL: backends whose client port belongs to the process; SQLite:
descriptors open on the database, WAL or shared-memory file).

At the end nothing may be lost: every Mixed instance and every graph completes with its
expected output, once; every actor counted exactly the messages that were acknowledged to it.
And nothing may grow without bound: the survivor's threads, descriptors and connections at the
end may not exceed their first sample by more than a small slack, and its RSS may not grow by
more than --max-rss-growth-mb. Prints one JSON line; exits 1 if a check failed.

    python scripts/soak.py --store sqlite --minutes 10
    python scripts/soak.py --store postgres --minutes 10
"""

# retry() calls its lambda at once, so loop variables captured by it are never stale.
# ruff: noqa: B023
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import campaign  # noqa: E402
from chaos import Postgres, count_executions, retry  # noqa: E402
from chaos_worker import expected_output  # noqa: E402
from duroxide import Client, SqliteProvider  # noqa: E402
from soak_worker import add, double, graph_expected  # noqa: E402

SAMPLE_EVERY_S = 30.0


def proc_status(pid: int) -> Dict[str, int]:
    fields: Dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                fields[key] = int(value.split()[0])
    return fields


def store_connections(pid: int, store: str, db_path: Optional[str]) -> int:
    """Connections of process `pid` to the store (see the module docstring)."""
    if store == "sqlite":
        n = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            n += int(db_path is not None and target.startswith(db_path))
        return n
    # TCP sockets of the process that are connected to the server's port.
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    port = f"{PG_PORT:04X}" if PG_PORT else None
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if port and cols[2].endswith(":" + port) and cols[9] in inodes:
                    n += 1
    return n


PG_PORT: Optional[int] = None


def sample(pid: int, store: str, db_path: Optional[str]) -> Dict[str, Any]:
    st = proc_status(pid)
    return {"t": round(time.monotonic() - T0, 1), "rss_mb": round(st["VmRSS"] / 1024, 1),
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": st["Threads"],
            "store_connections": store_connections(pid, store, db_path)}


T0 = time.monotonic()


class Generation:
    def __init__(self, proc: "subprocess.Popen[bytes]", index: int, survivor: bool):
        self.proc = proc
        self.index = index
        self.survivor = survivor
        self.samples: List[Dict[str, Any]] = []
        self.ready = False
        self.started_at = time.monotonic()
        self.ended_at: Optional[float] = None

    def summary(self) -> Dict[str, Any]:
        return {"generation": self.index, "survivor": self.survivor,
                "lifetime_s": round((self.ended_at or time.monotonic()) - self.started_at, 1),
                "start": self.samples[0] if self.samples else None,
                "end": self.samples[-1] if self.samples else None}


class Workers:
    def __init__(self, store_args: List[str], work: Path, count: int, store: str,
                 db_path: Optional[str]):
        self.store_args, self.work, self.store, self.db_path = store_args, work, store, db_path
        self.generations: List[Generation] = []
        self.live: List[Generation] = [self.spawn(survivor=(k == 0)) for k in range(count)]

    def spawn(self, survivor: bool = False) -> Generation:
        index = len(self.generations) + 1
        with open(self.work / f"worker-{index}.err", "w") as err:  # the child keeps its copy
            proc = subprocess.Popen(
                [sys.executable, str(HERE / "soak_worker.py"), *self.store_args,
                 "--log", str(self.work / f"worker-{index}.log")],
                stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        gen = Generation(proc, index, survivor)
        self.generations.append(gen)
        return gen

    def poll(self) -> None:
        """Takes the start sample of generations that became ready; periodic survivor samples."""
        for gen in self.live:
            if gen.proc.poll() is not None:
                raise RuntimeError(f"worker generation {gen.index} died on its own "
                                   f"(exit {gen.proc.returncode}); see {self.work}")
            if not gen.ready:
                assert gen.proc.stdout is not None
                os.set_blocking(gen.proc.stdout.fileno(), False)
                line = gen.proc.stdout.readline()
                if line and line.strip() == b"ready":
                    gen.ready = True
                    time.sleep(0.5)
                    gen.samples.append(sample(gen.proc.pid, self.store, self.db_path))
            elif gen.survivor and time.monotonic() - T0 >= gen.samples[-1]["t"] + SAMPLE_EVERY_S:
                gen.samples.append(sample(gen.proc.pid, self.store, self.db_path))

    def kill_one(self, rng: random.Random) -> None:
        victims = [g for g in self.live if not g.survivor and g.ready]
        if not victims:
            return
        gen = rng.choice(victims)
        self._end(gen, take_sample=True)
        self.live[self.live.index(gen)] = self.spawn()

    def _end(self, gen: Any, take_sample: bool) -> None:
        """SIGKILLs a running generation (after a last resource sample) and closes its pipe."""
        if gen.proc.poll() is None:
            if take_sample:
                gen.samples.append(sample(gen.proc.pid, self.store, self.db_path))
            gen.proc.kill()
            gen.proc.wait()
            gen.ended_at = time.monotonic()
        if gen.proc.stdout is not None:
            gen.proc.stdout.close()

    def stop(self) -> None:
        for gen in self.live:
            self._end(gen, take_sample=gen.ready)


def submit_slice(client: Client, rng: random.Random, state: Dict[str, Any]) -> None:
    """One slice of work: Mixed instances with their queue event, actor sends, a relay
    orchestration (messaging from an orchestration) and a task graph."""
    k = state["next"]
    state["next"] += 1
    iid = f"mixed-{k}"
    retry(lambda: client.start_orchestration(iid, "Mixed", {"n": k}), "start")
    retry(lambda: client.enqueue_event(iid, "Q", f"q-{k}"), "enqueue")
    state["mixed"].append(k)
    key = f"c{rng.randrange(8)}"
    for _ in range(2):
        retry(lambda: client.actor("Counter", key).send(1), "actor send")
        state["actor_sends"][key] += 1
    rid = f"relay-{k}"
    retry(lambda: client.start_orchestration(rid, "Relay", key), "relay")
    state["relays"].append(rid)
    state["actor_sends"][key] += 4  # 3 sends and 1 request from the relay
    job = retry(lambda: client.submit(add(double(k), double(k + 1)), f"graph-{k}"), "submit")
    state["graphs"].append((f"graph-{k}" if job is None else job, k))


def check_results(client: Client, state: Dict[str, Any], timeout_s: int) -> Dict[str, Any]:
    wrong: List[str] = []
    for k in state["mixed"]:
        r = retry(lambda: client.wait_for_orchestration(f"mixed-{k}", timeout_s * 1000), "wait")
        if r is None or r.status != "Completed" or r.output != expected_output(k):
            wrong.append(f"mixed-{k}: {None if r is None else (r.status, r.output, r.error)}")
    for rid in state["relays"]:
        r = retry(lambda: client.wait_for_orchestration(rid, timeout_s * 1000), "wait")
        if r is None or r.status != "Completed":
            wrong.append(f"{rid}: {None if r is None else (r.status, r.error)}")
    for job, k in state["graphs"]:
        r = retry(lambda: client.wait_for_orchestration(job, timeout_s * 1000), "wait")
        if r is None or r.status != "Completed" or r.output != graph_expected(k):
            wrong.append(f"{job}: {None if r is None else (r.status, r.output, r.error)}")
    deadline = time.monotonic() + timeout_s
    actor_counts: Dict[str, Any] = {}
    for key, sent in state["actor_sends"].items():
        while True:
            n = (retry(lambda: client.actor("Counter", key).state(), "state") or {}).get("n", 0)
            if n >= sent or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        actor_counts[key] = [n, sent]
        if n != sent:
            wrong.append(f"actor Counter/{key}: counted {n}, acknowledged {sent}")
    duplicated = 0
    for k in state["mixed"]:
        completed = 0
        for ex in retry(lambda: client.list_executions(f"mixed-{k}"), "executions"):
            kinds = [e.kind for e in retry(
                lambda: client.read_execution_history(f"mixed-{k}", ex), "history")]
            completed += kinds.count("OrchestrationCompleted")
        duplicated += max(0, completed - 1)
    return {"wrong": wrong, "duplicated_completions": duplicated, "actor_counts": actor_counts}


def growth_checks(workers: Workers, driver: List[Dict[str, Any]],
                  max_rss_growth_mb: float) -> List[str]:
    problems: List[str] = []
    for name, samples in (("survivor", workers.generations[0].samples), ("driver", driver)):
        if len(samples) < 2:
            problems.append(f"{name}: fewer than two samples")
            continue
        first, last = samples[0], samples[-1]
        for field, slack in (("threads", 4), ("fds", 8), ("store_connections", 4)):
            if last[field] > first[field] + slack:
                problems.append(f"{name}: {field} grew {first[field]} -> {last[field]}")
        if last["rss_mb"] > first["rss_mb"] + max_rss_growth_mb:
            problems.append(f"{name}: RSS grew {first['rss_mb']} -> {last['rss_mb']} MB")
    return problems


def run(args: argparse.Namespace) -> Dict[str, Any]:
    global PG_PORT
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="duroxide-soak-"))
    pg: Optional[Postgres] = None
    db_path: Optional[str] = None
    if args.store == "sqlite":
        db_path = str(work / "soak.db")
        store_args = ["--sqlite", db_path]
        provider: Any = SqliteProvider.open(db_path)
    else:
        pg = Postgres()
        PG_PORT = pg.cluster.port
        store_args = ["--pg", pg.url, "--schema", "soak"]
        from duroxide import PostgresProvider

        provider = PostgresProvider.connect_with_schema(pg.url, "soak")
    client = Client(provider)
    workers = Workers(store_args, work, args.workers, args.store, db_path)
    faults: Dict[str, int] = collections.Counter()
    state: Dict[str, Any] = {"next": 0, "mixed": [], "relays": [], "graphs": [],
                             "actor_sends": collections.Counter()}
    driver = [sample(os.getpid(), args.store, db_path)]
    end = time.monotonic() + args.minutes * 60
    next_kill = time.monotonic() + args.kill_interval
    next_restart = time.monotonic() + args.restart_interval
    next_sample = time.monotonic() + SAMPLE_EVERY_S
    try:
        while time.monotonic() < end:
            workers.poll()
            submit_slice(client, rng, state)
            now = time.monotonic()
            if now >= next_kill:
                workers.kill_one(rng)
                faults["kill"] += 1
                next_kill = now + args.kill_interval * rng.uniform(0.5, 1.5)
            if pg and now >= next_restart:
                faults["pg_restart"] += 1
                pg.restart("immediate" if faults["pg_restart"] % 2 == 0 else "fast")
                next_restart = now + args.restart_interval * rng.uniform(0.7, 1.3)
            if now >= next_sample:
                driver.append(sample(os.getpid(), args.store, db_path))
                next_sample = now + SAMPLE_EVERY_S
            time.sleep(args.slice_interval)
        fault_phase_s = time.monotonic() - T0
        results = check_results(client, state, args.timeout)
        workers.poll()
        driver.append(sample(os.getpid(), args.store, db_path))
        workers.stop()
        executions = count_executions(work)
        growth = growth_checks(workers, driver, args.max_rss_growth_mb)
        return {
            "store": args.store, "minutes": args.minutes, "seed": args.seed,
            "faults": dict(faults), "worker_generations": len(workers.generations),
            "mixed_instances": len(state["mixed"]), "relays": len(state["relays"]),
            "graphs": len(state["graphs"]),
            "actor_messages": sum(state["actor_sends"].values()),
            "lost_or_wrong": len(results["wrong"]), "examples": results["wrong"][:5],
            "duplicated_completions": results["duplicated_completions"],
            "activity_executions": sum(executions.values()),
            "duplicate_activity_executions": sum(executions.values()) - len(executions),
            "growth_problems": growth,
            "survivor": workers.generations[0].samples,
            "driver": driver,
            "generations": [g.summary() for g in workers.generations],
            "fault_phase_s": round(fault_phase_s, 1),
            "total_s": round(time.monotonic() - T0, 1),
        }
    finally:
        workers.stop()
        provider.close()
        campaign.clean_up(work, pg, args.keep)


def main() -> int:
    p = campaign.parser(workers=True)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--kill-interval", type=float, default=15.0, help="mean seconds between kills")
    p.add_argument("--restart-interval", type=float, default=45.0,
                   help="mean seconds between PostgreSQL restarts")
    p.add_argument("--slice-interval", type=float, default=0.25,
                   help="seconds between slices of submitted work")
    p.add_argument("--max-rss-growth-mb", type=float, default=64.0)
    args = p.parse_args()
    result = run(args)
    print(json.dumps(result), flush=True)
    ok = (result["lost_or_wrong"] == 0 and result["duplicated_completions"] == 0
          and not result["growth_problems"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
