#!/usr/bin/env bash
# Installs everything duroxide needs on a fresh Debian 12 machine and builds the package into
# .venv. Idempotent: re-running only does what is missing.
#   scripts/setup.sh          # system packages + .venv with duroxide installed
#   scripts/setup.sh --test   # also the test tools (pytest, hypothesis, pybind11 for the
#                             # sanitizer builds, httpx, selenium + Debian's chromium)
# The server extra (`duroxide server`: FastAPI, uvicorn, Swagger UI assets) and the otel extra
# (OpenTelemetry API + SDK, prometheus_client) are always installed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build pkg-config python3-venv python3-dev
  libsqlitecpp-dev libsqlite3-dev nlohmann-json3-dev libpqxx-dev libgtest-dev postgresql)
if [ "${1:-}" = "--test" ]; then
  APT_PACKAGES+=(chromium chromium-driver)  # the dashboard's browser tests
  APT_PACKAGES+=(clang libclang-rt-14-dev)  # clang + its runtime: the libFuzzer targets
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# Runtime dependency (capability routing validates JSON Schemas); also declared in pyproject.
.venv/bin/python -m pip install -q jsonschema "cronsim>=2.6"
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q pytest pytest-xdist hypothesis pybind11 mypy ruff \
    types-jsonschema import-linter "httpx>=0.27" "selenium>=4.20" \
    "opentelemetry-exporter-otlp-proto-http>=1.20" "opentelemetry-proto>=1.20"
fi
echo "setup: building and installing duroxide into .venv"
BUILD_ARGS=()
if [ "${1:-}" = "--test" ]; then
  # The package's own build also builds the GoogleTest suites (scripts/test.sh runs them from
  # build/pkg-test): the core is compiled once for both, not once for pip and again for ctest.
  BUILD_ARGS=(-C cmake.define.DUROXIDE_BUILD_TESTS=ON -C build-dir=build/pkg-test)
fi
.venv/bin/python -m pip install -q "${BUILD_ARGS[@]}" ".[server,otel]"
.venv/bin/python -c "import duroxide; print('setup: duroxide', duroxide.__version__, 'ready')"
