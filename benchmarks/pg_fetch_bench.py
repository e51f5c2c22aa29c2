"""Cost of one PostgreSQL orchestration fetch against a queue, for two builds.

    python benchmarks/pg_fetch_bench.py --a /old/.venv/bin/python --b .venv/bin/python \\
        --ready 20000 --timers 0

Each build creates its schema (its migrations) in one database of a throwaway durable cluster
(run.py's Postgres); the same queue is then written into both by SQL: --timers TimerFired rows
visible in an hour and created before --ready StartOrchestration rows that are visible now
(a timer's row ranks by its creation, providers/queue_order.h). A DO block calls
dx_fetch_orchestrations for 8 instances 20 times per schema, each call rolled back (a
subtransaction), and reports the mean time per call (docs/performance.md, round 3).
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (run.py of this directory)

FILL = """
SET search_path = {schema};
INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count, created_at)
  SELECT 't' || g, 'TimerFired', '{{}}', {now} + 3600000, 0, {now} - 100000 + g
  FROM generate_series(1, {timers}) g;
INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count, created_at)
  SELECT 'i' || g, 'StartOrchestration', '{{}}', {now} - 1000, 0, {now} - 1000 + g % 7
  FROM generate_series(1, {ready}) g;
DO $$ DECLARE t0 timestamptz; n int; BEGIN
  t0 := clock_timestamp();
  FOR i IN 1..20 LOOP
    BEGIN
      SELECT count(*) INTO n FROM dx_fetch_orchestrations(
        ARRAY['a','b','c','d','e','f','g','h'], {now}, {now} + 30000, 7, false);
      RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
  END LOOP;
  RAISE NOTICE '{label}: % instances per call, % ms per call', n,
    round((extract(epoch from clock_timestamp() - t0) * 1000 / 20)::numeric, 3);
END $$;
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="interpreter of build A")
    p.add_argument("--b", required=True, help="interpreter of build B")
    p.add_argument("--ready", type=int, default=20000)
    p.add_argument("--timers", type=int, default=0)
    args = p.parse_args()
    pg = R.Postgres()
    pg.start()
    try:
        db, url = pg.create_database("fetch")
        for label, python in (("A", args.a), ("B", args.b)):
            connect = ("import duroxide, sys; "
                       "duroxide.PostgresProvider.connect_with_schema(sys.argv[1], sys.argv[2])")
            subprocess.run([python, "-c", connect, url, f"fetch_{label.lower()}"], check=True)
        now = int(pg.sql("SELECT (extract(epoch from now()) * 1000)::bigint"))
        for label in ("A", "B"):
            sql = FILL.format(schema=f"fetch_{label.lower()}", now=now, timers=args.timers,
                              ready=args.ready, label=label)
            proc = subprocess.run([pg.psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url],
                                  input=sql, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                sys.exit(proc.stderr.strip())
            print(proc.stderr.strip().replace("NOTICE:  ", ""))
        pg.drop_database(db)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
