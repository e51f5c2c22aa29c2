"""Chaos campaign driver (issue 17, sections 3 and 4; docs/reliability.md).

Several worker processes (scripts/chaos_worker.py) run a mixed workload (activities, a timer,
all, a sub-orchestration, a queue event, KV, continue-as-new) on one store while this process
injects faults at random:

  kill      SIGKILL a random worker and start a new one (both stores)
  restart   restart the PostgreSQL server, alternating fast and immediate shutdown
  terminate pg_terminate_backend() on every duroxide connection (connection loss, also in the
            middle of transactions)
  timeout   statement_timeout = 1 ms server-wide (ALTER SYSTEM + reload) for a moment

When the fault phase ends, every instance must complete with the right output, exactly once,
and no worker may have died on its own. Prints one JSON line with the figures and exits 1 if
an invariant failed.

    python scripts/chaos.py --store sqlite --instances 200 --kills 20
    python scripts/chaos.py --store postgres --instances 1000 --kills 10 --restarts 4 \
        --terminates 3 --timeouts 1
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
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
from chaos_worker import expected_output  # noqa: E402
from duroxide import Client, DuroxideError, SqliteProvider  # noqa: E402


class Workers:
    def __init__(self, store_args: List[str], log_dir: Path, count: int):
        self.store_args = store_args
        self.log_dir = log_dir
        self.procs: List[subprocess.Popen[bytes]] = []
        self.spawned = 0
        self.unexpected_deaths = 0
        for _ in range(count):
            self.procs.append(self.spawn())

    def spawn(self) -> "subprocess.Popen[bytes]":
        self.spawned += 1
        log = self.log_dir / f"worker-{self.spawned}.log"
        return subprocess.Popen(
            [sys.executable, str(HERE / "chaos_worker.py"), *self.store_args, "--log", str(log)],
            stdout=subprocess.DEVNULL, stderr=open(self.log_dir / f"worker-{self.spawned}.err", "w"),
            start_new_session=True)

    def check_alive(self) -> None:
        for i, p in enumerate(self.procs):
            if p.poll() is not None:  # died without being killed by us
                self.unexpected_deaths += 1
                self.procs[i] = self.spawn()

    def kill_one(self, rng: random.Random) -> None:
        i = rng.randrange(len(self.procs))
        self.procs[i].kill()
        self.procs[i].wait()
        self.procs[i] = self.spawn()

    def stop(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()


class Postgres:
    """A cluster owned by the campaign (it is restarted, so never a shared server)."""

    def __init__(self) -> None:
        import pg_cluster

        self.cluster = pg_cluster.PgCluster()
        self.url = self.cluster.start()
        self.schema = "chaos"

    def sql(self, statement: str) -> None:
        subprocess.run(["psql", self.url, "-qAt", "-c", statement], capture_output=True,
                       timeout=60)

    def restart(self, mode: str) -> None:
        self.cluster.restart(mode)

    def terminate(self) -> None:
        self.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")

    def statement_timeout(self, seconds: float) -> None:
        self.sql("ALTER SYSTEM SET statement_timeout = '1ms'")
        self.sql("SELECT pg_reload_conf()")
        time.sleep(seconds)
        self.sql("ALTER SYSTEM RESET statement_timeout")
        self.sql("SELECT pg_reload_conf()")

    def stop(self) -> None:
        self.cluster.stop()


def retry(fn: Any, what: str, deadline_s: float = 120) -> Any:
    """Client calls during faults fail cleanly with a DuroxideError; they are retried."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            return fn()
        except DuroxideError as exc:
            if "already exists" in str(exc) or type(exc).__name__ == "InstanceAlreadyExistsError":
                return None
            if time.monotonic() > end:
                raise RuntimeError(f"{what}: still failing after {deadline_s} s: {exc}") from exc
            time.sleep(0.1)


def count_executions(log_dir: Path) -> Dict[str, int]:
    counts: Dict[str, int] = collections.Counter()
    for log in log_dir.glob("worker-*.log"):
        for line in log.read_text(errors="replace").splitlines():
            parts = line.split(" ")
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                counts[line] += 1
    return counts


def run(args: argparse.Namespace) -> Dict[str, Any]:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="duroxide-chaos-"))
    pg: Optional[Postgres] = None
    if args.store == "sqlite":
        db = work / "chaos.db"
        store_args = ["--sqlite", str(db)]
        provider: Any = SqliteProvider.open(str(db))
    else:
        pg = Postgres()
        store_args = ["--pg", pg.url, "--schema", pg.schema]
        from duroxide import PostgresProvider

        provider = PostgresProvider.connect_with_schema(pg.url, pg.schema)
    client = Client(provider)
    workers = Workers(store_args, work, args.workers)
    faults: Dict[str, int] = collections.Counter()
    ids = [f"chaos-{i}" for i in range(args.instances)]
    t0 = time.monotonic()
    try:
        plan = (["kill"] * args.kills + ["restart"] * args.restarts +
                ["terminate"] * args.terminates + ["timeout"] * args.timeouts)
        rng.shuffle(plan)
        started = 0
        next_fault = time.monotonic() + rng.uniform(0.2, args.fault_interval)
        while plan or started < len(ids):
            # Start instances in slices so that faults land while work is in flight.
            for iid in ids[started:started + max(1, len(ids) // 20)]:
                n = int(iid.split("-")[1])
                retry(lambda: client.start_orchestration(iid, "Mixed", {"n": n}), "start")
                retry(lambda: client.enqueue_event(iid, "Q", f"q-{n}"), "enqueue")
                started += 1
            if plan and time.monotonic() >= next_fault:
                fault = plan.pop()
                faults[fault] += 1
                if fault == "kill":
                    workers.kill_one(rng)
                elif fault == "restart" and pg:
                    pg.restart("immediate" if faults["restart"] % 2 == 0 else "fast")
                elif fault == "terminate" and pg:
                    pg.terminate()
                elif fault == "timeout" and pg:
                    pg.statement_timeout(1.0)
                next_fault = time.monotonic() + rng.uniform(0.2, args.fault_interval)
            workers.check_alive()
            time.sleep(0.05)
        fault_phase_s = time.monotonic() - t0
        wrong: List[str] = []
        lost = 0
        for iid in ids:
            n = int(iid.split("-")[1])
            r = retry(lambda: client.wait_for_orchestration(iid, args.timeout * 1000), "wait")
            if r is None or r.status != "Completed":
                lost += 1
                wrong.append(f"{iid}: {None if r is None else (r.status, r.error)}")
            elif r.output != expected_output(n):
                wrong.append(f"{iid}: output {r.output} != {expected_output(n)}")
        workers.check_alive()
        duplicated = 0
        for iid in ids:
            completed = 0
            for ex in retry(lambda: client.list_executions(iid), "executions"):
                kinds = [e.kind for e in retry(lambda: client.read_execution_history(iid, ex),
                                               "history")]
                completed += kinds.count("OrchestrationCompleted")
            duplicated += max(0, completed - 1)
        executions = count_executions(work)
        expected_activities = args.instances * 5  # Inc x4 in gen 0 (one in Child), x1 in gen 1
        result: Dict[str, Any] = {
            "store": args.store, "workers": args.workers, "instances": args.instances,
            "faults": dict(faults), "faults_total": sum(faults.values()),
            "worker_processes_started": workers.spawned,
            "unexpected_worker_deaths": workers.unexpected_deaths,
            "lost": lost, "wrong_outputs": len(wrong) - lost,
            "duplicated_completions": duplicated,
            "activity_executions": sum(executions.values()),
            "distinct_activities": len(executions),
            "expected_activities": expected_activities,
            "duplicate_activity_executions": sum(executions.values()) - len(executions),
            "fault_phase_s": round(fault_phase_s, 1),
            "total_s": round(time.monotonic() - t0, 1),
            "examples": wrong[:5],
        }
        if args.store == "sqlite":
            import sqlite3

            con = sqlite3.connect(work / "chaos.db", timeout=60)
            result["integrity_check"] = con.execute("PRAGMA integrity_check").fetchone()[0]
            con.close()
        return result
    finally:
        workers.stop()
        campaign.clean_up(work, pg, args.keep)


def main() -> int:
    p = campaign.parser(workers=True)
    p.add_argument("--instances", type=int, default=200)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--restarts", type=int, default=0, help="PostgreSQL server restarts")
    p.add_argument("--terminates", type=int, default=0, help="pg_terminate_backend rounds")
    p.add_argument("--timeouts", type=int, default=0, help="1 s of statement_timeout=1ms")
    p.add_argument("--fault-interval", type=float, default=1.0,
                   help="faults are spaced 0.2..this many seconds apart")
    args = p.parse_args()
    if args.store == "sqlite" and (args.restarts or args.terminates or args.timeouts):
        p.error("--restarts/--terminates/--timeouts need --store postgres")
    result = run(args)
    result["seed"] = args.seed
    print(json.dumps(result))
    ok = (result["lost"] == 0 and result["wrong_outputs"] == 0 and
          result["duplicated_completions"] == 0 and result["unexpected_worker_deaths"] == 0 and
          result["distinct_activities"] == result["expected_activities"] and
          result.get("integrity_check", "ok") == "ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
