"""Trace ids on log records: with tracing on, every record of a ``duroxide.*`` logger carries
``trace_id`` (32 hex digits) and ``span_id`` (16 hex digits) attributes, usable in a format
string (``%(trace_id)s``) or by a JSON formatter.

Set by a LogRecord factory (records of other loggers are untouched): the current span's ids
where one is current (client calls, orchestration code, activities), else those of the
instance the record names (``record.instance_id``, the core's own records, emitted by the log
pump thread), else zeros.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, Optional

from opentelemetry import trace

_NO_TRACE = "0" * 32
_NO_SPAN = "0" * 16


class _TracedRecord(logging.LogRecord):
    """A record of a duroxide logger outside any span: trace_id/span_id read as zeros unless
    set later (the log sink sets the ids of the record's instance through `extra`)."""

    def __getattr__(self, name: str) -> Any:
        if name == "trace_id":
            return _NO_TRACE
        if name == "span_id":
            return _NO_SPAN
        raise AttributeError(name)


class TraceIdFactory:
    """A LogRecord factory chained in front of the one installed before it."""

    def __init__(self, hooks: Any) -> None:
        self._hooks = hooks
        self._previous: Optional[Callable[..., logging.LogRecord]] = None

    def install(self) -> None:
        self._previous = logging.getLogRecordFactory()
        logging.setLogRecordFactory(self)

    def uninstall(self) -> None:
        # Only when nobody chained another factory in front of ours since; otherwise ours
        # stays and passes records through (see __call__).
        if logging.getLogRecordFactory() is self and self._previous is not None:
            logging.setLogRecordFactory(self._previous)
        self._hooks = None

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        assert self._previous is not None
        record = self._previous(*args, **kwargs)
        hooks = self._hooks
        if hooks is None or not record.name.startswith("duroxide"):
            return record
        sc = trace.get_current_span().get_span_context()
        if sc.is_valid:
            record.trace_id = f"{sc.trace_id:032x}"
            record.span_id = f"{sc.span_id:016x}"
        elif type(record) is logging.LogRecord:
            record.__class__ = _TracedRecord
        return record


def ids_for_fields(hooks: Any, fields: Dict[str, str]) -> Dict[str, str]:
    """`extra` for a core record (duroxide.worker._log_sink) emitted outside any span: the ids
    of the instance it names, if this process ran that instance lately; else nothing."""
    if trace.get_current_span().get_span_context().is_valid:
        return {}  # the record factory sets the current span's ids
    instance = fields.get("instance_id")
    ids = hooks.ids_for_instance(instance) if instance else None
    if ids is None:
        return {}
    return {"trace_id": f"{ids[0]:032x}", "span_id": f"{ids[1]:016x}"}
