#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 duroxide authors
#
# Soak run (docs/reliability.md, "Soak"): the mixed workload (activities, timers, messaging,
# actors, task graphs) on a SQLite file and on a throwaway PostgreSQL cluster, for N minutes
# each, with a SIGKILL of a worker process every ~15 s and, on PostgreSQL, a server restart
# every ~45 s. Reports RSS, open descriptors, threads and store connections at the start and
# end of every worker process generation (and every 30 s for the long-lived processes), and
# fails if anything was lost or a long-lived process grew. Not part of scripts/test.sh.
#   scripts/soak.sh --minutes N [--seed S] [--only sqlite|postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/setup.sh
minutes=10
seed=${SEED:-$(date +%s)}
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 --minutes N [--seed S] [--only sqlite|postgres]" >&2; exit 2 ;;
  esac
done
status=0
for store in sqlite postgres; do
  if [ -z "$only" ] || [ "$only" = "$store" ]; then
    echo "== soak: $store, $minutes minutes, seed $seed" >&2
    .venv/bin/python scripts/soak.py --store "$store" --minutes "$minutes" --seed "$seed" \
      || status=1
  fi
done
exit $status
