"""Routes the core's log records to Python's standard `logging` (the default log mode).

Loggers: ``duroxide.runtime`` (the runtime's own records), ``duroxide.orchestration``
(``ctx.trace_*`` in orchestrations; replays are suppressed), ``duroxide.activity``
(``ctx.trace_*`` in activities), and ``duroxide.<x>`` for any other core target ``duroxide::<x>``.
The structured fields (instance_id, execution_id, orchestration_name, orchestration_version,
activity_name, activity_id, worker_id, runtime_id, service_name, ...) are attributes of the
LogRecord (``record.instance_id``) and, all together, ``record.duroxide_fields`` (a dict).

Records produced by user code (which holds the GIL) are emitted in place. Records of the
core's own threads are queued natively and emitted by one daemon thread, the pump, which waits
for them with the GIL released; it starts with the first Runtime and is stopped at exit.
`flush()` emits what is queued (Runtime.shutdown calls it).

`init_tracing(...)`, `DUROXIDE_LOG`/`RUST_LOG` set at import, or `RuntimeOptions(log_level=...,
log_format=...)` select the native writer (file or stderr) instead.
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Optional

from duroxide import _core
from duroxide.worker._log_sink import emit

_pump: Optional[threading.Thread] = None
_pump_lock = threading.Lock()
_stopping = False


def flush() -> None:
    """Emits the records queued by the core's threads now (no wait)."""
    for record in _core._take_log_records(0):
        emit(*record)


def _run_pump() -> None:
    while not _stopping:
        for record in _core._take_log_records(1000):
            try:
                emit(*record)
            except Exception:  # noqa: BLE001 - a failing handler must not stop the pump
                pass


def on_runtime_start() -> None:
    """Called by Runtime.start(): levels follow Python's config; the pump runs."""
    if _core._logging_mode() != "python":
        return
    _core._configure_python_levels(logging.getLogger("duroxide.runtime").getEffectiveLevel())
    global _pump
    with _pump_lock:
        if _pump is None and not _stopping:
            _pump = threading.Thread(target=_run_pump, name="duroxide-log-pump", daemon=True)
            _pump.start()


@atexit.register
def _stop_pump() -> None:
    # Registered at import, so it runs after the runtimes' own atexit shutdown (LIFO order).
    global _stopping
    _stopping = True
    try:
        _core._stop_log_pump()
        if _pump is not None:
            _pump.join(timeout=2)
        flush()
    except Exception:  # noqa: BLE001 - best effort at exit
        pass
