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
from typing import Any, Dict, Optional

_loggers: Dict[str, logging.Logger] = {}
_pump: Optional[threading.Thread] = None
_pump_lock = threading.Lock()
_stopping = False


def _logger(target: str) -> logging.Logger:
    logger = _loggers.get(target)
    if logger is None:
        logger = logging.getLogger(target.replace("::", "."))
        _loggers[target] = logger
    return logger


def emit(target: str, level: int, message: str, fields: Dict[str, str]) -> None:
    """Emits one core record on logger duroxide.<target> with `fields` as record attributes."""
    logger = _logger(target)
    if not logger.isEnabledFor(level):
        return
    extra: Dict[str, Any] = dict(fields)
    extra["duroxide_fields"] = fields
    extra["duroxide_target"] = target
    try:
        logger.log(level, message, extra=extra)
    except KeyError:  # a field named like a LogRecord attribute ("message", "name", ...)
        logger.log(level, message, extra={"duroxide_fields": fields, "duroxide_target": target})


def flush() -> None:
    """Emits the records queued by the core's threads now (no wait)."""
    from duroxide import _core

    for record in _core._take_log_records(0):
        emit(*record)


def _run_pump() -> None:
    from duroxide import _core

    while not _stopping:
        for record in _core._take_log_records(1000):
            try:
                emit(*record)
            except Exception:  # noqa: BLE001 - a failing handler must not stop the pump
                pass


def on_runtime_start() -> None:
    """Called by Runtime.start(): levels follow Python's config; the pump runs."""
    from duroxide import _core

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
        from duroxide import _core

        _core._stop_log_pump()
        if _pump is not None:
            _pump.join(timeout=2)
        flush()
    except Exception:  # noqa: BLE001 - best effort at exit
        pass
