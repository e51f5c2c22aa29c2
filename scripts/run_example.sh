#!/usr/bin/env bash
# The main job: set up, then run a real workflow on an embedded SQLite file and print its result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python examples/order_pipeline.py "$@"
