"""A short workload through the native module, for sanitizer builds of it (scripts/test.sh).

Covers the bindings and the GIL hand-offs: orchestrations and activities run on the core's
threads while client calls wait from several Python threads, runtimes start and stop, and an
in-memory and a file SQLite store are used, and with DUROXIDE_SMOKE_POSTGRES=1 also PostgreSQL
(DATABASE_URL, or a throwaway cluster from tests/pg_cluster.py): its connection pool, the
LISTEN/NOTIFY listener thread and the client waits are exercised the same way. Exits non-zero
on a wrong result; the sanitizer runtime (LD_PRELOAD) aborts the process on a report.

    PYTHONPATH=<dir with duroxide/ and the sanitizer-built _core> python scripts/sanitizer_smoke.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Generator, List

import duroxide
from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider


def register(rt: Runtime) -> None:
    rt.register_activity("Add", lambda ctx, x: x[0] + x[1])

    def flaky(ctx: Any, x: int) -> int:
        if x < 0:
            raise ValueError("negative")
        return x

    rt.register_activity("Flaky", flaky)

    def parent(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        total = yield ctx.schedule_activity("Add", [n, 1])
        yield ctx.schedule_timer(5)
        pair = yield ctx.all([ctx.schedule_activity("Add", [1, 1]),
                              ctx.schedule_sub_orchestration("Child", n)])
        ctx.set_custom_status(f"step {n}")
        ctx.set_kv_value("n", str(n))
        try:
            yield ctx.schedule_activity("Flaky", -1)
        except Exception:  # noqa: BLE001 - the failure path is part of the smoke run
            total += 100
        ev = yield ctx.race(ctx.wait_for_event("Go"), ctx.schedule_timer(20))
        if n % 3 == 0 and ctx.get_kv_value("can") is None:
            ctx.set_kv_value("can", "1")
            yield ctx.continue_as_new(n)
        return total + sum(duroxide.parse_result(pair)) + ev["index"]

    def child(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        return (yield ctx.schedule_activity("Add", [n, n]))

    rt.register_orchestration("Parent", parent)
    rt.register_orchestration("Child", child)


def expected(n: int) -> int:
    return (n + 1) + 100 + (2 + 2 * n) + 1  # the race is won by the timer (index 1)


def run(provider: Any, count: int, tag: str) -> None:
    client = Client(provider)
    errors: List[str] = []
    for round_ in range(2):  # a runtime restart between rounds
        rt = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=10,
                                              orchestration_concurrency=2, worker_concurrency=2))
        register(rt)
        rt.start()
        ids = [f"{tag}-{round_}-{i}" for i in range(count)]

        def drive(chunk: List[str]) -> None:
            for iid in chunk:
                n = int(iid.rsplit("-", 1)[1])
                client.start_orchestration(iid, "Parent", n)
            for iid in chunk:
                n = int(iid.rsplit("-", 1)[1])
                r = client.wait_for_orchestration(iid, 60000)
                if r.status != "Completed" or r.output != expected(n):
                    errors.append(f"{iid}: {r.status} {r.output} {r.error}")

        threads = [threading.Thread(target=drive, args=(ids[k::3],)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rt.shutdown(2000)
    if errors:
        raise SystemExit("sanitizer smoke: wrong results:\n" + "\n".join(errors))


def run_postgres() -> None:
    # The sanitizer runtime is preloaded into this process only: the cluster's scripts and
    # server processes must not inherit it.
    os.environ.pop("LD_PRELOAD", None)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import pg_cluster

    with pg_cluster.database_url() as url:
        schema = pg_cluster.unique_schema("smoke")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
        try:
            run(provider, 12, "pg")
        finally:
            provider.close()
            pg_cluster.drop_schema(url, schema)


def main() -> int:
    run(SqliteProvider.in_memory(), 12, "mem")
    with tempfile.TemporaryDirectory() as tmp:
        run(SqliteProvider.open(str(Path(tmp) / "smoke.db")), 12, "file")
    if os.environ.get("DUROXIDE_SMOKE_POSTGRES") == "1":
        run_postgres()
    print("sanitizer smoke: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
