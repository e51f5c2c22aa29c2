"""A worker process for tests/test_otel_processes.py: instrumented, exporting every span at once
over OTLP/HTTP (SimpleSpanProcessor, so a SIGKILL loses only spans still open).

    python otel_worker.py DB ENDPOINT NAME MARKER_DIR
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from duroxide import Runtime, RuntimeOptions, SqliteProvider
from duroxide.otel import DuroxideInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor


def main() -> None:
    db, endpoint, name, marker_dir = sys.argv[1:5]
    markers = Path(marker_dir)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    DuroxideInstrumentor().instrument(tracer_provider=provider)

    rt = Runtime(SqliteProvider.open(db), RuntimeOptions(
        dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=1500,
        orchestrator_lock_timeout_ms=1500, warm_cache_capacity=0))

    @rt.register_activity("Flaky")
    def flaky(ctx, x):
        marker = markers / f"flaky-{ctx.instance_id}"
        if not marker.exists():
            marker.write_text("1")
            raise ConnectionError("first attempt fails")
        return x + 1

    @rt.register_activity("Double")
    def double(ctx, x):
        return 2 * x

    @rt.register_activity("Slow")
    def slow(ctx, x):
        marker = markers / "slow-started"
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            time.sleep(60)  # killed here
        return x

    @rt.register_orchestration("Child")
    def child(ctx, x):
        return (yield ctx.schedule_activity("Double", x))

    @rt.register_orchestration("Parent")
    def parent(ctx, x):
        a = yield ctx.schedule_activity_with_retry("Flaky", x, {"max_attempts": 3})
        b = yield ctx.schedule_sub_orchestration("Child", a)
        msg = yield ctx.receive_message("inbox")
        c = yield ctx.schedule_activity("Slow", b)
        return [a, b, c, msg.data]

    rt.start()
    (markers / f"ready-{name}").write_text(str(os.getpid()))
    while True:
        time.sleep(0.2)


if __name__ == "__main__":
    main()
