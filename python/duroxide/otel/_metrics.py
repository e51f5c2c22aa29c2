"""The runtime's instruments on an OpenTelemetry MeterProvider (docs/observability.md).

Observable instruments over the same counters the Prometheus exposition reads: callbacks run
at each collection and sum the live runtimes of this process (duroxide.worker.runtime). Names
follow OpenTelemetry's conventions (dots, unit separate); the histograms stay Prometheus-only
because the API has no observable histogram and recording each observation from Python would
put the interpreter on the hot path.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Tuple

from duroxide.worker.metrics import live_natives

_COMPLETED = {"orch_completions": "completed", "orch_failures": "failed",
              "orch_continue_as_new": "continued_as_new"}


class Instruments:
    """Registers the instruments; close() makes their callbacks report nothing."""

    def __init__(self, meter_provider: Any = None) -> None:
        from opentelemetry import metrics

        from duroxide._common import __version__

        self._open = True
        meter = metrics.get_meter("duroxide", __version__, meter_provider=meter_provider)
        meter.create_observable_counter(
            "duroxide.orchestrations.started", callbacks=[self._started], unit="{execution}",
            description="Orchestration executions started")
        meter.create_observable_counter(
            "duroxide.orchestrations.completed", callbacks=[self._completed],
            unit="{execution}", description="Orchestration executions ended, by status")
        meter.create_observable_counter(
            "duroxide.activities", callbacks=[self._activities], unit="{attempt}",
            description="Activity attempts, by name and status")
        meter.create_observable_counter(
            "duroxide.turns", callbacks=[self._turns], unit="{turn}",
            description="Committed orchestration turns")

    def close(self) -> None:
        self._open = False

    def _snapshots(self) -> List[Tuple[Dict[str, int], Dict[str, Any]]]:
        if not self._open:
            return []
        return [(n.metrics_snapshot(), n.metrics_detail()) for n in live_natives()]

    def _started(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        snaps = self._snapshots()
        if snaps:
            yield Observation(sum(s.get("orch_starts", 0) for s, _ in snaps))

    def _completed(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        snaps = self._snapshots()
        for key, status in _COMPLETED.items():
            if snaps:
                yield Observation(sum(s.get(key, 0) for s, _ in snaps), {"status": status})

    def _activities(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        totals: Dict[Tuple[str, str], int] = {}
        for _, detail in self._snapshots():
            for name, (ok, failed, _counts, _sum) in detail["activities"].items():
                totals[(name, "completed")] = totals.get((name, "completed"), 0) + ok
                totals[(name, "failed")] = totals.get((name, "failed"), 0) + failed
        for (name, status), n in sorted(totals.items()):
            yield Observation(n, {"name": name, "status": status})

    def _turns(self, _options: Any) -> Iterable[Any]:
        from opentelemetry.metrics import Observation

        snaps = self._snapshots()
        if snaps:
            yield Observation(sum(sum(d["turn"][0]) for _, d in snaps))
