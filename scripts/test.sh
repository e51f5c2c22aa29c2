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

echo "== types and lint (mypy --strict, stubtest, ruff)"
# Seconds: the package and each example under mypy --strict (config in pyproject.toml), the
# native module's stubs (python/duroxide/_core.pyi) against the built module, and ruff.
.venv/bin/python -m mypy
for example in examples/*.py; do .venv/bin/python -m mypy --strict "$example"; done
.venv/bin/python -m mypy.stubtest duroxide._core --allowlist scripts/stubtest-allowlist.txt
.venv/bin/python -m ruff check python/duroxide

echo "== pytest (installed package)"
# Run from the repository root: the package is imported from .venv, not from python/.
.venv/bin/python -m pytest tests -q "$@"
