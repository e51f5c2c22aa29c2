"""Child process of tests/test_flow_debounce.py: a runtime that sends items to a debouncer
and is SIGKILLed in the middle of the window.

    python debounce_worker.py STORE MARKER_FILE

STORE is a SQLite path or "pg:<url>|<schema>". The runtime serves the debouncer; the items
0..ITEMS-1 go to key KEY with a long window; MARKER_FILE is written (with the batch ids) once
every item was acknowledged, and the process then waits to be killed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duroxide  # noqa: E402

from helpers.messaging_worker import open_provider  # noqa: E402

KEY = "crash/key"
ITEMS = 5
WINDOW_MS = 4000


def main() -> None:
    store, marker = sys.argv[1], sys.argv[2]
    provider = open_provider(store)
    runtime = duroxide.Runtime(provider, duroxide.RuntimeOptions(
        dispatcher_poll_interval_ms=20, orchestrator_lock_timeout_ms=1000,
        worker_lock_timeout_ms=1000))
    runtime.start()
    client = duroxide.Client(provider)
    ids = [client.debounce(KEY, "Collect", {"i": i}, window_ms=WINDOW_MS) for i in range(ITEMS)]
    Path(marker).write_text(json.dumps(ids))
    time.sleep(600)


if __name__ == "__main__":
    main()
