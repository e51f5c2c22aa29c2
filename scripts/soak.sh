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
# The campaigns share one driver: this is scripts/chaos.sh --soak.
exec "$(dirname "$0")/chaos.sh" --soak "$@"
