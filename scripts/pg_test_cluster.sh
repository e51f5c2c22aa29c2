#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 duroxide authors
#
# A throwaway PostgreSQL cluster for tests, made from the installed server binaries.
#
#   scripts/pg_test_cluster.sh start DIR PORT   # initdb DIR/data, start on 127.0.0.1:PORT,
#                                               # print the URL on stdout
#   scripts/pg_test_cluster.sh stop DIR [PORT]  # stop the server and remove DIR
#   scripts/pg_test_cluster.sh restart DIR [MODE]  # restart the server (drops every
#                                               # connection); MODE: fast (default), immediate
#
# The server runs as the current user; as root (PostgreSQL refuses to run as root) it runs as
# the `postgres` system user, and DIR is handed to that user. The unix socket lives in the data
# directory, TCP listens on 127.0.0.1 only, and authentication is `trust` (local tests only).
# Durability settings are relaxed (fsync=off): the cluster is thrown away after the tests.
# PG_TEST_DURABLE=1 keeps PostgreSQL's default durability instead (fsync, synchronous_commit
# and full_page_writes on), e.g. for benchmarks.
# Set PG_BIN to choose the server binaries (default: the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

usage() {
  echo "usage: $0 start DIR PORT | stop DIR [PORT] | restart DIR [fast|immediate]" >&2
  exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
port=${3:-}

if [ -z "${PG_BIN:-}" ]; then
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "${PG_BIN:-}" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "pg_test_cluster: no PostgreSQL server binaries found (install the postgresql package)" >&2
  exit 1
fi

# Runs a command as the user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u postgres -- "$@"
    else
      su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

data="$dir/data"

case "$cmd" in
  start)
    [ -n "$port" ] || usage
    mkdir -p "$dir"
    touch "$dir/.duroxide-pg-test-cluster"
    if [ "$(id -u)" -eq 0 ]; then
      if ! id postgres >/dev/null 2>&1; then
        echo "pg_test_cluster: running as root needs a 'postgres' system user" >&2
        exit 1
      fi
      chown -R postgres "$dir"
      # The server must be able to reach DIR: every parent directory needs search permission.
      if ! runuser -u postgres -- test -x "$dir"; then
        echo "pg_test_cluster: user postgres cannot reach $dir (check parent permissions)" >&2
        exit 1
      fi
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
        --no-locale >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
      }
    fi
    opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$data'"
    if [ "${PG_TEST_DURABLE:-0}" != 1 ]; then
      opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    opts="$opts -c max_connections=300 -c shared_buffers=64MB"
    as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$dir/server.log" -o "$opts" -w -t 60 start \
      >/dev/null || {
      cat "$dir/server.log" >&2 || true
      exit 1
    }
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  restart)
    mode=${3:-fast}
    case "$mode" in fast|immediate|smart) ;; *) usage ;; esac
    as_owner "$PG_BIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 restart -l "$dir/server.log" \
      >/dev/null
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ]; then
      as_owner "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
    fi
    # Only ever remove a directory this script created.
    if [ -f "$dir/.duroxide-pg-test-cluster" ]; then
      rm -rf "$dir"
    fi
    ;;
  *)
    usage
    ;;
esac
