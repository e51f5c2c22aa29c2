#!/usr/bin/env bash
# Runs every test: the GoogleTest suites (normal build and AddressSanitizer+UBSan build, via
# ctest) and the pytest suite against the package installed in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

JOBS=${JOBS:-2}
build_and_test() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DDUROXIDE_BUILD_TESTS=ON -DDUROXIDE_BUILD_PYTHON=OFF "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS"
}

echo "== GoogleTest (RelWithDebInfo)"
build_and_test build/gtest -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== GoogleTest under AddressSanitizer + UndefinedBehaviorSanitizer"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  build_and_test build/gtest-asan -DCMAKE_BUILD_TYPE=Debug "-DDUROXIDE_SANITIZE=address;undefined"

echo "== pytest (installed package)"
# Run from the repository root: the package is imported from .venv, not from python/.
.venv/bin/python -m pytest tests -q "$@"
