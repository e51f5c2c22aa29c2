#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 duroxide authors
#
# The longer chaos campaigns of docs/reliability.md (a few minutes on 2 cores):
#   1. SQLite file: 3 worker processes, 500 mixed orchestrations, 40 random SIGKILLs.
#   2. PostgreSQL (a throwaway cluster): 3 worker processes, 1,000 mixed orchestrations,
#      20 SIGKILLs, 6 server restarts (fast and immediate shutdown alternating), 4 rounds of
#      pg_terminate_backend (connection loss, also mid-transaction), 2 statement timeouts.
# Each prints one JSON line of figures (faults, instances, lost, duplicated completions,
# duplicate activity executions) and fails if an invariant broke.
#   scripts/chaos.sh [--seed N] [--only sqlite|postgres]
# With --model N, runs the model-checked client instead (scripts/model_client.py, issue 21):
# N random client operations from 4 threads per store (SQLite file with one runtime,
# PostgreSQL with two runtime processes), checked against the client model.
#   scripts/chaos.sh --model 20000 [--seed N] [--only sqlite|postgres]
# With --soak, runs the soak campaign instead (scripts/soak.py; scripts/soak.sh calls this):
# --minutes N (default 10) on each store.
#   scripts/chaos.sh --soak --minutes N [--seed N] [--only sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
seed=${SEED:-$(date +%s)}
only=""
model=0
soak=0
minutes=10
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --soak) soak=1; shift ;;
    --minutes) minutes=$2; shift 2 ;;
    *) echo "usage: $0 [--seed N] [--only sqlite|postgres] [--model OPS | --soak --minutes N]" >&2
       exit 2 ;;
  esac
done
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
status=0
if [ "$soak" = 1 ]; then
  for store in sqlite postgres; do
    if want "$store"; then
      echo "== soak: $store, $minutes minutes, seed $seed" >&2
      .venv/bin/python scripts/soak.py --store "$store" --minutes "$minutes" --seed "$seed" \
        || status=1
    fi
  done
  exit $status
fi
if [ "$model" -gt 0 ]; then
  if want sqlite; then
    echo "== model: SQLite file, $model operations, seed $seed" >&2
    .venv/bin/python scripts/model_client.py --store sqlite --ops "$model" --seed "$seed" || status=1
  fi
  if want postgres; then
    echo "== model: PostgreSQL, 2 runtimes, $model operations, seed $seed" >&2
    .venv/bin/python scripts/model_client.py --store postgres --ops "$model" --runtimes 2 \
      --seed "$seed" || status=1
  fi
  exit $status
fi
if want sqlite; then
  echo "== chaos: SQLite file, seed $seed" >&2
  .venv/bin/python scripts/chaos.py --store sqlite --workers 3 --instances 500 --kills 40 \
    --fault-interval 0.5 --seed "$seed" || status=1
fi
if want postgres; then
  echo "== chaos: PostgreSQL, seed $seed" >&2
  .venv/bin/python scripts/chaos.py --store postgres --workers 3 --instances 1000 --kills 20 \
    --restarts 6 --terminates 4 --timeouts 2 --fault-interval 1.0 --seed "$seed" || status=1
fi
exit $status
