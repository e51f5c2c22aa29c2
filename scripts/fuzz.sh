#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 duroxide authors
#
# Builds the libFuzzer targets (clang, ASan+UBSan) and fuzzes each for a while.
#   scripts/fuzz.sh [SECONDS_PER_TARGET (default 600)] [TARGET ...]
# Targets: codec_fuzzer (history events), work_item_fuzzer (queue rows), replay_fuzzer (the
# replay engine fed arbitrary histories and messages). Seeds come from fuzz/corpus/<target>
# (read-only); new interesting inputs go to build/fuzz/corpus/<target>, crashes to
# build/fuzz/artifacts/. scripts/test.sh runs the same targets briefly (FUZZ_SECONDS).
# To minimise a crash: build/fuzz/fuzz/<target> build/fuzz/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(codec_fuzzer work_item_fuzzer replay_fuzzer)
JOBS=${JOBS:-2}

CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DDUROXIDE_BUILD_FUZZERS=ON \
  -DDUROXIDE_BUILD_PYTHON=OFF -DDUROXIDE_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DDUROXIDE_SANITIZE=address;undefined" >/dev/null
cmake --build build/fuzz -j "$JOBS" --target "${targets[@]}"

rm -rf build/fuzz/artifacts && mkdir -p build/fuzz/artifacts
for t in "${targets[@]}"; do
  mkdir -p "build/fuzz/corpus/$t"
  echo "== fuzzing $t for ${seconds}s"
  rc=0
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "build/fuzz/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ \
    "build/fuzz/corpus/$t" "fuzz/corpus/$t" >"build/fuzz/$t.log" 2>&1 || rc=$?
  grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units)" "build/fuzz/$t.log" || true
  # libFuzzer exits non-zero on a finding (crash, leak, timeout, out of memory).
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "build/fuzz/$t.log" >&2
    echo "fuzz: $t failed (exit $rc), see build/fuzz/$t.log and build/fuzz/artifacts/" >&2
    exit 1
  fi
done
