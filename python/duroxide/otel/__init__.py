"""OpenTelemetry for duroxide (``pip install duroxide[otel]``; docs/observability.md).

    from duroxide.otel import DuroxideInstrumentor
    DuroxideInstrumentor().instrument(tracer_provider=provider, meter_provider=meters)

Follows the conventions of OpenTelemetry's Python instrumentors: the instrumentor is a
singleton, ``instrument()`` takes ``tracer_provider`` / ``meter_provider`` (the global ones
when None), a second ``instrument()`` is a no-op that logs a warning ("Attempting to instrument
while already instrumented"), and ``uninstrument()`` undoes it. Instrumentation is
process-wide: it covers every Client and Runtime of the process, made before or after.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Collection, Optional

from duroxide import _telemetry
from duroxide._common import __version__
from duroxide.otel import _logs, _metrics

__all__ = ["DuroxideInstrumentor"]

_LOG = logging.getLogger("duroxide.otel")


class DuroxideInstrumentor:
    """Traces, metrics and log correlation for duroxide (see the module docstring)."""

    _instance: Optional["DuroxideInstrumentor"] = None
    _instance_lock = threading.Lock()
    _is_instrumented_by_opentelemetry: bool = False
    _meters: Optional[_metrics.Instruments] = None
    _log_factory: Optional[_logs.TraceIdFactory] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> "DuroxideInstrumentor":
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = super().__new__(cls)
            return cls._instance

    @property
    def is_instrumented_by_opentelemetry(self) -> bool:
        return bool(self._is_instrumented_by_opentelemetry)

    def instrumentation_dependencies(self) -> Collection[str]:
        """Packages the instrumentation needs (none beyond duroxide and OpenTelemetry)."""
        return ()

    def instrument(self, tracer_provider: Any = None, meter_provider: Any = None,
                   **kwargs: Any) -> None:
        """Turns on spans, the OpenTelemetry metric instruments and trace ids in the records
        of the duroxide.* loggers. Instrumenting twice is a no-op with a warning."""
        if self._is_instrumented_by_opentelemetry:
            _LOG.warning("Attempting to instrument while already instrumented")
            return None
        from opentelemetry import trace

        from duroxide.otel._hooks import OtelHooks

        tracer = trace.get_tracer("duroxide", __version__, tracer_provider=tracer_provider)
        tracer = _sdk_tracer(tracer)
        hooks = OtelHooks(tracer)
        self._log_factory = _logs.TraceIdFactory(hooks)
        self._log_factory.install()
        self._meters = _metrics.Instruments(meter_provider)
        _telemetry.install(hooks)
        self._is_instrumented_by_opentelemetry = True
        return None

    def uninstrument(self, **kwargs: Any) -> None:
        """Turns everything instrument() did off again (a no-op with a warning otherwise)."""
        if not self._is_instrumented_by_opentelemetry:
            _LOG.warning("Attempting to uninstrument while already uninstrumented")
            return None
        _telemetry.uninstall()
        if self._log_factory is not None:
            self._log_factory.uninstall()
            self._log_factory = None
        if self._meters is not None:
            self._meters.close()
            self._meters = None
        self._is_instrumented_by_opentelemetry = False
        return None


def _sdk_tracer(tracer: Any) -> Any:
    """The SDK tracer behind the global provider's proxy, when the SDK is configured."""
    if hasattr(tracer, "id_generator"):
        return tracer
    real = getattr(tracer, "_real_tracer", None) or getattr(tracer, "_tracer", None)
    return real if real is not None and hasattr(real, "id_generator") else tracer
