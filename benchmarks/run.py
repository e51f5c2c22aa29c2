"""Runs the benchmark suite on duroxide, the reference package and DBOS, side by side.

    benchmarks/run.sh            # sets everything up, then runs this
    python benchmarks/run.py --systems duroxide,reference,dbos --quick

Each workload runs in a fresh process on a fresh SQLite file, systems alternating, so machine
drift affects all of them alike. Prints a table and writes benchmarks/results/latest.json.

The PostgreSQL rows (pg hello) run on $DATABASE_URL when it is set (the user needs CREATEDB),
otherwise on a throwaway cluster made from the installed server binaries
(scripts/pg_test_cluster.sh, PostgreSQL's default durability) that is removed afterwards. Every
run gets a fresh database.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The interpreter of each system; DUROXIDE_BENCH_PYTHON_<SYSTEM> overrides one (e.g. a venv
# with another build of duroxide).
PYTHONS = {
    "duroxide": os.path.join(ROOT, ".venv", "bin", "python"),
    "reference": os.path.join(HERE, ".venv-ref", "bin", "python"),
    "dbos": os.path.join(HERE, ".venv-dbos", "bin", "python"),
}
PYTHONS = {k: os.environ.get(f"DUROXIDE_BENCH_PYTHON_{k.upper()}", v) for k, v in PYTHONS.items()}


def slots(n):
    """Workload args for n orchestration + n worker slots (override the run's defaults)."""
    return ["--orchestration-concurrency", str(n), "--worker-concurrency", str(n)]


def scale(procs, n):
    """The PostgreSQL scaling curve: a driver process (4 client threads, 128 in flight) and
    `procs` worker processes, each a Runtime with the run's slots."""
    return ["--n", str(n), "--in-flight", "128", "--start-threads", "4", "--procs", str(procs),
            "--workers-only"]


# workload, label, workload args; the same for every system. Shape (a) is "hello": 50
# instances in flight, one started as one completes. Shape (b) is "batch": one client starts
# all N instances as fast as it can while the runtime runs, then waits for them; the slot
# sweep runs it at 1+1 .. 8+8 orchestration + worker slots.
FULL = [
    ("hello", "hello", ["--n", "4000", "--in-flight", "50"]),
    ("hello", "hello 4+4", ["--n", "4000", "--in-flight", "50", *slots(4)]),
    ("batch", "batch", ["--n", "4000"]),
    ("batch", "batch 1+1", ["--n", "4000", *slots(1)]),
    ("batch", "batch 4+4", ["--n", "4000", *slots(4)]),
    ("batch", "batch 8+8", ["--n", "4000", *slots(8)]),
    ("hello", "hello full", ["--n", "4000", "--in-flight", "50", "--durability", "full"]),
    ("fanout", "fan-out 2000", ["--n", "2000"]),
    ("chain", "chain 500", ["--n", "500"]),
    ("chain", "chain 1000", ["--n", "1000"]),
    ("chain", "chain 2000", ["--n", "2000"]),
    ("latency", "latency", ["--n", "200", "--warmup", "20"]),
    ("waiting", "waiting 20000", ["--n", "20000"]),
    ("pg-hello", "pg hello 1 proc", ["--n", "2000", "--in-flight", "50", "--procs", "1"]),
    ("pg-hello", "pg hello 2 procs", ["--n", "2000", "--in-flight", "50", "--procs", "2"]),
    ("pg-hello", "pg hello 2 procs 4 starters",
     ["--n", "2000", "--in-flight", "64", "--procs", "2", "--start-threads", "4"]),
    *[("pg-hello", f"pg scale {p} workers", scale(p, 2000)) for p in (1, 2, 4, 8)],
    ("io", "io 100ms", ["--n", "100", "--activities", "100"]),
    ("pg-io", "pg io 100ms 2 procs", ["--n", "100", "--activities", "100", "--procs", "2"]),
    ("waiting", "waiting 100000", ["--n", "100000"]),
    ("history", "history 50000", ["--events", "50000"]),
]
QUICK = [
    ("hello", "hello", ["--n", "500", "--in-flight", "50"]),
    ("batch", "batch", ["--n", "1000"]),
    ("batch", "batch 4+4", ["--n", "1000", *slots(4)]),
    ("hello", "hello full", ["--n", "500", "--in-flight", "50", "--durability", "full"]),
    ("fanout", "fan-out 500", ["--n", "500"]),
    ("chain", "chain 250", ["--n", "250"]),
    ("chain", "chain 500", ["--n", "500"]),
    ("latency", "latency", ["--n", "50", "--warmup", "10"]),
    ("waiting", "waiting 2000", ["--n", "2000"]),
    ("pg-hello", "pg hello 1 proc", ["--n", "500", "--in-flight", "50", "--procs", "1"]),
    ("pg-hello", "pg hello 2 procs", ["--n", "500", "--in-flight", "50", "--procs", "2"]),
    ("pg-hello", "pg hello 2 procs 4 starters",
     ["--n", "500", "--in-flight", "64", "--procs", "2", "--start-threads", "4"]),
    *[("pg-hello", f"pg scale {p} workers", scale(p, 500)) for p in (1, 2, 4, 8)],
    ("io", "io 100ms", ["--n", "20", "--activities", "100"]),
    ("pg-io", "pg io 100ms 2 procs", ["--n", "20", "--activities", "100", "--procs", "2"]),
    ("history", "history 5000", ["--events", "5000"]),
]
DBOS_WORKLOADS = {"hello", "batch", "fanout", "chain"}
# Rows only this package can run (options the other systems lack: SQLite durability="full",
# async activities), or that the others cannot finish in a run's time (100,000 waiting
# instances, a 50,000-event history), or that measure only our own scaling (pg scale).
DUROXIDE_ONLY_LABELS = {"hello full", "waiting 100000"}
DUROXIDE_ONLY_WORKLOADS = {"io", "pg-io", "history"}
# Rows DBOS does not run: its slots are one queue concurrency, not orchestration + worker.
NOT_DBOS_LABELS = {"hello 4+4", "batch 1+1", "batch 4+4", "batch 8+8"}
PG_WORKLOADS = {"pg-hello", "pg-io"}
THROUGHPUT_WORKLOADS = {"hello", "batch", "pg-hello", "io", "pg-io"}
# The feature benchmarks (messaging, capability routing and task graphs, the REST server, the
# wave-3 capabilities), run
# on duroxide only after the comparison rows; --only features runs just these. Each writes its
# figures as JSON ("--json PATH"; server.py prints them).
FEATURES = [
    ("messaging", "messaging.py", [], ["--quick"]),
    ("graphs", "graphs.py", [], ["--fanout", "500", "--width", "100", "--rounds", "3"]),
    ("server", "server.py", [], ["--starts", "500", "--reads", "100"]),
    # schedules, debounce, tracing overhead, named limits (one figure each)
    ("capabilities", "capabilities_bench.py", [], ["--quick"]),
]
PG_SETTINGS = ["server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level",
               "shared_buffers", "max_connections"]


def selected(entry, wanted):
    """--only matches a label ("chain 500"), its dashed form ("pg-hello-2-procs") or a workload
    name ("pg-hello": both PostgreSQL rows)."""
    workload, label, _ = entry
    return bool({label, label.replace(" ", "-"), workload} & wanted)


class Postgres:
    """The server for the PostgreSQL rows: $DATABASE_URL or a throwaway cluster."""

    def __init__(self):
        self.dir = None
        self.url = os.environ.get("DATABASE_URL")
        self.psql = shutil.which("psql") or os.path.join(self._pg_bin(), "psql")
        self.count = 0
        self.error = None

    @staticmethod
    def _pg_bin():
        bins = sorted((d for d in os.listdir("/usr/lib/postgresql") if d.isdigit()), key=int) \
            if os.path.isdir("/usr/lib/postgresql") else []
        return os.environ.get("PG_BIN") or (
            f"/usr/lib/postgresql/{bins[-1]}/bin" if bins else "/usr/bin")

    def start(self):
        if self.url:
            print("postgres: using $DATABASE_URL", file=sys.stderr, flush=True)
            return
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="bench-pg-")
        env = dict(os.environ, PG_TEST_DURABLE="1")  # default durability, not the tests' fsync=off
        proc = subprocess.run([os.path.join(ROOT, "scripts", "pg_test_cluster.sh"), "start",
                               self.dir, str(port)], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            self.stop()
            raise RuntimeError(f"could not start a PostgreSQL cluster: {proc.stderr.strip()}")
        self.url = proc.stdout.strip().splitlines()[-1]
        print(f"postgres: throwaway cluster in {self.dir} ({self.url})", file=sys.stderr,
              flush=True)

    def stop(self):
        if self.dir:
            subprocess.run([os.path.join(ROOT, "scripts", "pg_test_cluster.sh"), "stop",
                            self.dir], capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def sql(self, statement, url=None):
        proc = subprocess.run([self.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-d", url or self.url, "-c", statement],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"psql {statement!r}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def server_cpu_s(self):
        """CPU seconds used so far by the throwaway cluster's server: the postmaster, its
        live children (backends, WAL writer, checkpointer...) and the children it has reaped
        (a backend's time moves to the postmaster's cutime/cstime when it exits). None on
        $DATABASE_URL (its processes are not ours to read)."""
        if not self.dir:
            return None
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                pid = int(f.readline())
            total = 0
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                # fields[0] is the state (field 3); ppid is field 4, utime..cstime 14..17.
                if int(entry) == pid:
                    total += sum(int(x) for x in fields[11:15])
                elif int(fields[1]) == pid:
                    total += int(fields[11]) + int(fields[12])
            return total / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            return None

    def settings(self):
        return {name: self.sql(f"SHOW {name}") for name in PG_SETTINGS}

    def wal_stats(self):
        """Cluster-wide WAL counters (PostgreSQL 14+), or None."""
        names = ["wal_records", "wal_bytes", "wal_write", "wal_sync"]
        try:
            values = self.sql(f"SELECT {', '.join(names)} FROM pg_stat_wal").split("|")
            return dict(zip(names, (int(v) for v in values)))
        except Exception:
            return None

    def run_stats(self, name, wal_before):
        """Transactions in database `name` and the WAL written (and synced) during the run
        (the WAL figures are cluster-wide: exact on the throwaway cluster)."""
        stats = {}
        # Backends report their counters when they exit: wait for the run's connections to end.
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                if self.sql("SELECT count(*) FROM pg_stat_activity "
                            f"WHERE datname = '{name}'") == "0":
                    break
            except Exception:
                break
            time.sleep(0.1)
        try:
            values = self.sql("SELECT xact_commit, xact_rollback FROM pg_stat_database "
                              f"WHERE datname = '{name}'").split("|")
            stats.update(xact_commit=int(values[0]), xact_rollback=int(values[1]))
        except Exception:
            pass
        wal_after = self.wal_stats()
        if wal_before and wal_after:
            stats.update({k: wal_after[k] - wal_before[k] for k in wal_after})
        return stats

    def create_database(self, system):
        """A fresh, empty database; returns its name and URL."""
        self.count += 1
        name = f"bench_{system}_{os.getpid()}_{self.count}"
        self.sql(f'CREATE DATABASE "{name}"')
        parts = urllib.parse.urlsplit(self.url)
        return name, urllib.parse.urlunsplit(parts._replace(path="/" + name))

    def drop_database(self, name):
        try:
            self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # a leftover database is no reason to stop the suite
            print(f"postgres: could not drop {name}: {exc}", file=sys.stderr, flush=True)


def run_one(system, workload, args, common, timeout_s, pg=None):
    db_dir = tempfile.mkdtemp(prefix=f"bench-{system}-")
    db = os.path.join(db_dir, "bench.db")
    script = "dbos_workload.py" if system == "dbos" else "workload.py"
    cmd = [PYTHONS[system], os.path.join(HERE, script), "--workload", workload]
    pg_db = None
    if workload in PG_WORKLOADS:
        try:
            if pg.error:
                raise RuntimeError(pg.error)
            pg_db, url = pg.create_database(system)
        except Exception as exc:
            shutil.rmtree(db_dir, ignore_errors=True)
            return {"ok": False, "error": str(exc)}
        cmd += ["--pg-url", url]
    else:
        cmd += ["--db", db]
    if system != "dbos":
        # The row's own args come last: they override the run's defaults (slot sweeps).
        cmd += [*common, *args, "--system", system, "--timeout", str(timeout_s)]
    else:
        cmd += args
        # Same durability settings as duroxide's SQLite provider: WAL, synchronous=NORMAL.
        cmd += ["--worker-concurrency", common[common.index("--worker-concurrency") + 1],
                "--poll-ms", common[common.index("--poll-ms") + 1], "--sqlite-wal"]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    wal_before = pg.wal_stats() if pg_db else None
    server_before = pg.server_cpu_s() if pg_db else None
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    # Its own process group, so that a run that times out (or Ctrl-C) takes any worker
    # processes it started with it.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    result = None
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s + 30)
        lines = [l for l in stdout.splitlines() if l.startswith("{")]
        if not lines:
            result = {"ok": False, "error": f"no result (exit {proc.returncode}): "
                                            f"{stderr.strip()[-300:]}"}
        else:
            result = json.loads(lines[-1])
    except subprocess.TimeoutExpired:
        result = {"ok": False, "error": f"did not finish in {timeout_s} s",
                  "seconds": time.time() - t0}
    finally:
        if proc.poll() is None or workload in PG_WORKLOADS:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        # CPU of the run's processes (the workload and every worker process it waited for).
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client_cpu = (after.ru_utime - children_before.ru_utime
                      + after.ru_stime - children_before.ru_stime)
        if result is not None:
            result["client_cpu_s"] = client_cpu
        if pg_db:
            if result is not None:
                result["pg_stats"] = pg.run_stats(pg_db, wal_before)
                server_after = pg.server_cpu_s()
                if server_before is not None and server_after is not None:
                    result["server_cpu_s"] = server_after - server_before
            pg.drop_database(pg_db)
        shutil.rmtree(db_dir, ignore_errors=True)
    return result


def fmt(result, workload):
    if not result or not result.get("ok"):
        if result is None:
            return "n/a"
        error = str(result.get("error", ""))
        return error if error.startswith("did not finish") else "FAILED: " + error[:40]
    if workload in PG_WORKLOADS:
        # WAL flushes (pg_stat_wal wal_sync) and commits (xact_commit) per orchestration, and
        # where the CPU goes: the server's and the client processes' (driver and workers).
        stats, n = result.get("pg_stats") or {}, result.get("n") or 0
        extra = []
        if result.get("activities"):  # pg-io: per activity
            extra.append(f"{stats.get('wal_sync', 0) / result['activities']:.2f} "
                         "flushes/activity")
        elif n and "wal_sync" in stats:
            extra.append(f"{stats['wal_sync'] / n:.2f} flushes/orch")
        if n and "xact_commit" in stats:
            extra.append(f"{stats['xact_commit'] / n:.1f} commits/orch")
        per = result.get("activities") or n
        if per and result.get("server_cpu_s") is not None:
            extra.append(f"CPU server {result['server_cpu_s'] / per * 1e6:.0f} + client "
                         f"{result['client_cpu_s'] / per * 1e6:.0f} us/item")
        return f"{result['throughput']:.0f}/s" + (f" ({', '.join(extra)})" if extra else "")
    if workload in THROUGHPUT_WORKLOADS:
        cpu = result.get("cpu_us_per_item")
        return f"{result['throughput']:.0f}/s" + (f" (CPU {cpu:.0f} us)" if cpu else "")
    if workload == "history":
        return (f"{result['events']} events: turn {result['turn_ms_early']:.2f} -> "
                f"{result['turn_ms_late']:.2f} ms (x{result['turn_late_over_early']:.2f}), "
                f"cold replay {result['cold_replay_s']:.2f} s, store {result['store_mb']:.0f} MB")
    if workload == "latency":
        return f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
    if workload == "waiting":
        store = result.get("store_mb")
        return (f"start {result['start_s']:.1f} s, RSS {result['rss_mb']:.0f} MB, "
                + (f"store {store:.0f} MB, " if store is not None else "")
                + f"release {result['release_s']:.1f} s")
    return f"{result['seconds']:.2f} s"


def ratio(ours, other, workload):
    if not (ours and other and ours.get("ok") and other.get("ok")):
        return ""
    if workload in THROUGHPUT_WORKLOADS:
        return f"{ours['throughput'] / other['throughput']:.1f}x"
    if workload == "latency":
        return f"{other['p50_ms'] / ours['p50_ms']:.1f}x"
    return f"{other['seconds'] / ours['seconds']:.1f}x"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--systems", default="duroxide,reference,dbos")
    p.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    p.add_argument("--only", default="",
                   help="comma-separated labels (\"chain 500\" or chain-500) or workload "
                        "names (hello, pg-hello, ...) to run")
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
    features = "duroxide" in systems
    if args.only:
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
        plan = [w for w in plan if selected(w, wanted)]
        features = features and "features" in wanted
        if not plan and not features:
            sys.exit(f"--only {args.only}: no workload matches")

    # SIGTERM/SIGHUP end the run like Ctrl-C, so the cluster below is always removed.
    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    pg = None
    pg_info = None
    if any(w[0] in PG_WORKLOADS for w in plan) and any(s != "dbos" for s in systems):
        pg = Postgres()
    try:
        if pg:
            try:
                pg.start()
                pg_info = {"cluster": "throwaway" if pg.dir else "DATABASE_URL",
                           "settings": pg.settings()}
                print("postgres: " + ", ".join(f"{k}={v}" for k, v in
                                               pg_info["settings"].items()),
                      file=sys.stderr, flush=True)
            except Exception as exc:  # the PostgreSQL rows fail, the others still run
                pg.error = f"no PostgreSQL: {exc}"
                pg_info = {"error": pg.error}
                print(f"postgres: {pg.error}", file=sys.stderr, flush=True)
        results = run_plan(plan, systems, common, args.timeout, pg)
    finally:
        if pg:
            pg.stop()
    feature_figures = run_features(args.quick, args.timeout) if features else {}

    report(args, plan, systems, results, pg_info, feature_figures)


def run_features(quick, timeout):
    """Runs the feature benchmarks with the duroxide interpreter; returns {name: figures}."""
    out = {}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    for name, script, full_args, quick_args in FEATURES:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as d:
            path = os.path.join(d, "out.json")
            cmd = [PYTHONS["duroxide"], os.path.join(HERE, script),
                   *(quick_args if quick else full_args)]
            if script != "server.py":
                cmd += ["--json", path]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                      env=env)
                if proc.returncode != 0:
                    raise RuntimeError(proc.stderr.strip()[-300:])
                if script == "server.py":
                    out_text = proc.stdout
                    start = 0 if out_text.startswith("{") else out_text.index("\n{") + 1
                    figures = json.loads(out_text[start:])
                else:
                    with open(path) as f:
                        figures = json.load(f)
                out[name] = {"ok": True, **figures}
            except Exception as exc:  # reported, not raised: the other rows stand
                out[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        status = "ok" if out[name]["ok"] else out[name]["error"][:60]
        print(f"  feature {name:<9} duroxide   {status}", file=sys.stderr, flush=True)
    return out


def run_plan(plan, systems, common, timeout, pg):
    results = {}
    for workload, label, wargs in plan:
        for system in systems:
            if system == "dbos" and (workload not in DBOS_WORKLOADS or label in NOT_DBOS_LABELS):
                continue
            if system != "duroxide" and (label in DUROXIDE_ONLY_LABELS
                                         or workload in DUROXIDE_ONLY_WORKLOADS
                                         or label.startswith("pg scale")):
                continue
            r = run_one(system, workload, wargs, common, timeout, pg)
            results[(label, system)] = r
            print(f"  {label:<16} {system:<10} {fmt(r, workload)}", file=sys.stderr, flush=True)
    return results


def report(args, plan, systems, results, pg_info, features):
    header = "| " + " | ".join(["workload", *systems] + [
        f"duroxide vs {s}" for s in systems if s != "duroxide"]) + " |"
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
            "pythons": {s: PYTHONS[s] for s in systems},
            "postgres": pg_info,
            "results": [{"label": k[0], "system": k[1], **(v or {})} for k, v in results.items()],
            "summary": summary,
            "features": features,
            "table": table,
        }, f, indent=2)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as exc:  # runs and the cluster are gone already (finally blocks)
        sys.exit(f"interrupted{f' ({exc})' if str(exc) else ''}")
