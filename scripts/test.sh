#!/usr/bin/env bash
# Runs every test: the GoogleTest suites (normal build, AddressSanitizer+UBSan build and a
# ThreadSanitizer build of the runtime/provider/replay suites), a Python smoke workload through
# each sanitizer-built native module, short libFuzzer runs, and the pytest suite against the
# package installed in .venv. docs/reliability.md describes the sanitizer and fuzzing steps.
#   FUZZ_SECONDS=N   seconds per fuzz target (default 30; 0 skips fuzzing)
#   SKIP_TSAN=1      skip the ThreadSanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."
# Each stage prints the seconds elapsed since the start, to keep the whole run's budget
# (30 minutes on 2 cores) visible.
stage() { echo "== [${SECONDS}s] $*"; }
stage "set-up: system packages, .venv, the package and its GoogleTest suites (one build)"
scripts/setup.sh --test

JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
build_and_test() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DDUROXIDE_BUILD_TESTS=ON -DDUROXIDE_BUILD_PYTHON=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS"
}
# The sanitizer builds also build the native module (same static libraries, so only the
# bindings are extra) for the Python smoke workload.
PY_MODULE=(-DDUROXIDE_BUILD_PYTHON=ON "-Dpybind11_DIR=$(.venv/bin/python -m pybind11 --cmakedir)"
  "-DPython_EXECUTABLE=$PWD/.venv/bin/python")
# Runs scripts/sanitizer_smoke.py on the native module built in $1 with the sanitizer runtime
# $2 preloaded (the interpreter itself is not instrumented); remaining args: environment.
python_smoke() {
  local dir=$1 runtime=$2; shift 2
  local pkg=$dir/pysmoke
  rm -rf "$pkg" && mkdir -p "$pkg"
  cp -r python/duroxide "$pkg/"
  cp "$dir"/cpp/_core*.so "$pkg/duroxide/"
  # libstdc++ is preloaded too: the interpreter does not link it, and the sanitizer runtime
  # must find the real __cxa_throw when it starts, or its interceptor aborts on the first throw.
  env "$@" LD_PRELOAD="$(gcc -print-file-name="$runtime") $(gcc -print-file-name=libstdc++.so)" \
    PYTHONPATH="$pkg" \
    .venv/bin/python scripts/sanitizer_smoke.py
}

stage "GoogleTest (Release: the build scripts/setup.sh --test made for the package)"
ctest --test-dir build/pkg-test --output-on-failure -j "$JOBS"

stage "GoogleTest under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  build_and_test build/gtest-asan -DCMAKE_BUILD_TYPE=Debug "-DDUROXIDE_SANITIZE=address;undefined" \
  "${PY_MODULE[@]}"
stage "Python smoke workload, native module under ASan + UBSan"
# detect_leaks=0: CPython does not free everything at exit, which LeakSanitizer would report;
# leaks in the core are covered by the GoogleTest run above (detect_leaks=1).
python_smoke build/gtest-asan libasan.so ASAN_OPTIONS=detect_leaks=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [ "${SKIP_TSAN:-0}" != 1 ]; then
  stage "GoogleTest under ThreadSanitizer (runtime, providers, replay)"
  # Only the suites with threads (dispatchers, lease renewal, group commit, the PostgreSQL pool
  # and its LISTEN thread) and the replay engine they drive; the codec suite has none. The
  # PostgreSQL suite uses DATABASE_URL or starts its own throwaway cluster.
  # scripts/tsan.supp lists third-party false positives only, each with its reason.
  TSAN_TESTS=(runtime_test sqlite_provider_test replay_engine_test postgres_provider_test)
  cmake -S . -B build/gtest-tsan -G Ninja -DDUROXIDE_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDUROXIDE_SANITIZE=thread "${PY_MODULE[@]}" >/dev/null
  cmake --build build/gtest-tsan -j "$JOBS" --target "${TSAN_TESTS[@]}" _core
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
  # Two PostgreSQL tests assert wall-clock windows (a gone worker's heartbeat age, an
  # avoid-window of ~1 s) that a TSan build (5-15x slower) overruns: they run in the normal
  # build above; every other test runs here.
  GTEST_FILTER='-*FleetSessionsOfGoneWorkersAreReleased*:*RoutingAvoidedRuntimeWaitsForTheWindow*' \
  ctest --test-dir build/gtest-tsan --output-on-failure -j "$JOBS" \
    -R "^($(IFS='|'; echo "${TSAN_TESTS[*]}"))\$"
  stage "Python smoke workload, native module under ThreadSanitizer"
  python_smoke build/gtest-tsan libtsan.so
  unset TSAN_OPTIONS
fi

if [ "$FUZZ_SECONDS" != 0 ]; then
  stage "libFuzzer targets, ${FUZZ_SECONDS}s each (scripts/fuzz.sh runs them longer)"
  scripts/fuzz.sh "$FUZZ_SECONDS"
fi

stage "types and lint (mypy --strict, stubtest, ruff, import-linter)"
# Seconds: the package and each example under mypy --strict (config in pyproject.toml), the
# native module's stubs (python/duroxide/_core.pyi) against the built module, ruff, and the
# package's layering and absence of import cycles (import-linter contracts in pyproject.toml,
# checked on the source tree).
.venv/bin/python -m mypy
for example in examples/*.py; do .venv/bin/python -m mypy --strict "$example"; done
.venv/bin/python -m mypy.stubtest duroxide._core --allowlist scripts/stubtest-allowlist.txt
.venv/bin/python -m ruff check python/duroxide examples
PYTHONPATH=python .venv/bin/lint-imports

stage "pytest (installed package)"
# Run from the repository root: the package is imported from .venv, not from python/.
# -n 2 (pytest-xdist): many tests wait on timers, processes and servers rather than the CPU,
# so two workers on 2 cores shorten the stage; each worker starts its own PostgreSQL cluster.
.venv/bin/python -m pytest tests -q -n "${PYTEST_WORKERS:-2}" "$@"
stage "done"
