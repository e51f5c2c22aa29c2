#!/usr/bin/env bash
# One command for the benchmark suite: sets up duroxide (.venv), the reference package
# (duroxide==0.2.2 from PyPI) and DBOS in their own virtualenvs, then runs benchmarks/run.py.
#   benchmarks/run.sh [--quick] [--systems duroxide,reference,dbos] [--only hello,latency]
#   benchmarks/run.sh --only pg-hello --systems duroxide,reference
#   benchmarks/run.sh --only features      # messaging, routing/graphs, server, capabilities
#   benchmarks/run.sh --quick --only io,history,pg-scale-2-workers   # one round-3 row in seconds
# Round-3 rows (duroxide only): pg scale 1/2/4/8 workers (server vs client CPU per
# orchestration), io 100ms (async activities, SQLite), pg io 100ms 2 procs, waiting 100000
# (store size), history 50000 (warm turn cost early/late, cold replay).
# The PostgreSQL rows (pg hello, 1 and 2 runtime processes) use $DATABASE_URL if set, else a
# throwaway cluster (scripts/pg_test_cluster.sh with PG_TEST_DURABLE=1) removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
PY=${PYTHON:-python3}
if [ ! -x benchmarks/.venv-ref/bin/python ]; then
  "$PY" -m venv benchmarks/.venv-ref
  benchmarks/.venv-ref/bin/pip install -q duroxide==0.2.2
fi
if [ ! -x benchmarks/.venv-dbos/bin/python ]; then
  "$PY" -m venv benchmarks/.venv-dbos
  benchmarks/.venv-dbos/bin/pip install -q dbos
fi
exec .venv/bin/python benchmarks/run.py "$@"
