"""The sink of the core's log records: `emit` logs one record on Python's `logging`.

The native module imports this module while it initializes (bind_logging.cc), so it must not
import the native module or anything that does; duroxide.worker.logging holds the rest.
"""

from __future__ import annotations

import logging
from typing import Any, Dict

import duroxide._telemetry as _telemetry

_loggers: Dict[str, logging.Logger] = {}


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
    hooks = _telemetry.hooks
    if hooks is not None:  # tracing on: the trace and span of the record's instance
        extra.update(hooks.log_ids(fields))
    try:
        logger.log(level, message, extra=extra)
    except KeyError:  # a field named like a LogRecord attribute ("message", "name", ...)
        logger.log(level, message, extra={"duroxide_fields": fields, "duroxide_target": target})
