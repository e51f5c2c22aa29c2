"""OpenTelemetry traces in one process (issue 27): DuroxideInstrumentor with the SDK's
in-memory exporter, on every store. The cross-process test (OTLP/HTTP, two workers, one
SIGKILLed) is tests/test_otel_processes.py."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Dict, Iterator, List

import pytest
from conftest import fast_options
from helpers.util import wait_done

pytest.importorskip("opentelemetry.sdk")
from duroxide.otel import DuroxideInstrumentor  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)


class Traced:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.provider.get_tracer("test")

    def spans(self) -> List[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def traced() -> Iterator[Traced]:
    t = Traced()
    DuroxideInstrumentor().instrument(tracer_provider=t.provider, meter_provider=t.meters)
    try:
        yield t
    finally:
        DuroxideInstrumentor().uninstrument()
        t.provider.shutdown()


def register(rt: Any) -> None:
    calls: Dict[str, int] = Counter()

    def flaky(ctx, x):
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ConnectionError("first attempt fails")
        return x + 1

    def double(ctx, x):
        logging.getLogger("duroxide.activity.test").warning("doubling %s", x)
        return 2 * x

    def child(ctx, x):
        return (yield ctx.schedule_activity("Double", x))

    def parent(ctx, x):
        a = yield ctx.schedule_activity_with_retry("Flaky", x, {"max_attempts": 3})
        b = yield ctx.schedule_sub_orchestration("Child", a)
        yield ctx.schedule_timer(5)
        msg = yield ctx.receive_message("inbox")
        return [a, b, msg.data]

    def looping(ctx, n):
        if n > 0:
            yield ctx.schedule_activity("Double", n)
            return (yield ctx.continue_as_new(n - 1))
        return "done"

    rt.register_activity("Flaky", flaky)
    rt.register_activity("Double", double)
    rt.register_orchestration("Child", child)
    rt.register_orchestration("Parent", parent)
    rt.register_orchestration("Looping", looping)


def by_name(spans: List[ReadableSpan], name: str) -> List[ReadableSpan]:
    return [s for s in spans if s.name == name]


def one(spans: List[ReadableSpan], name: str) -> ReadableSpan:
    found = by_name(spans, name)
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def parent_of(span: ReadableSpan) -> int:
    assert span.parent is not None, span.name
    return span.parent.span_id


def test_one_trace_from_the_client_span_to_every_activity(env, traced) -> None:
    # No warm cache: every turn replays the history from the start, and no span may repeat.
    rt = env.make_runtime(warm_cache_capacity=0)
    register(rt)
    rt.start()
    with traced.tracer.start_as_current_span("web request") as root:
        env.client.start_orchestration("p1", "Parent", 1)
    env.client.send_message("p1", "inbox", "hello")
    result = wait_done(env.client, "p1")
    assert result.status == "Completed", result
    spans = traced.spans()
    trace_id = root.get_span_context().trace_id
    start = one(spans, "start_orchestration Parent")
    assert parent_of(start) == root.get_span_context().span_id
    execution = one(spans, "orchestration Parent")
    assert parent_of(execution) == start.context.span_id
    assert execution.attributes["duroxide.instance_id"] == "p1"
    assert execution.attributes["duroxide.execution_id"] == 1
    assert execution.attributes["duroxide.orchestration.name"] == "Parent"
    # The execution's span starts when the execution started, before its activities.
    flaky = by_name(spans, "activity Flaky")
    assert len(flaky) == 2
    assert sorted(s.status.is_ok for s in flaky) == [False, True]
    failed = next(s for s in flaky if not s.status.is_ok)
    assert failed.events[0].attributes["exception.type"] == "ConnectionError"
    assert "first attempt fails" in failed.events[0].attributes["exception.message"]
    for s in flaky:
        assert parent_of(s) == execution.context.span_id
        assert s.attributes["duroxide.activity.name"] == "Flaky"
        assert s.attributes["duroxide.attempt"] == 1
        assert s.attributes["duroxide.worker"]
        assert s.start_time >= execution.start_time
    child = one(spans, "orchestration Child")
    assert parent_of(child) == execution.context.span_id
    double = one(spans, "activity Double")
    assert parent_of(double) == child.context.span_id
    timer = one(spans, "timer")
    assert parent_of(timer) == execution.context.span_id
    # The message is a link from the receiving execution to the sender's span.
    send = one(spans, "send_message inbox")
    assert [link.context.span_id for link in execution.links] == [send.context.span_id]
    assert all(s.context.trace_id == trace_id for s in spans if s is not send)
    # Nothing is duplicated by replay.
    counts = Counter((s.name, s.attributes.get("duroxide.instance_id"),
                      s.attributes.get("duroxide.execution_id")) for s in spans
                     if not s.name.startswith("activity"))
    assert max(counts.values()) == 1, counts
    assert execution.end_time >= max(s.end_time for s in spans if s.name != "orchestration "
                                     "Parent" and s.context.trace_id == trace_id
                                     and s is not root)


def test_continue_as_new_stays_in_the_trace(env, traced) -> None:
    rt = env.make_runtime(warm_cache_capacity=0)
    register(rt)
    rt.start()
    with traced.tracer.start_as_current_span("caller") as root:
        env.client.start_orchestration("loop", "Looping", 2)
    assert wait_done(env.client, "loop").status == "Completed"
    spans = traced.spans()
    executions = sorted(by_name(spans, "orchestration Looping"),
                        key=lambda s: s.attributes["duroxide.execution_id"])
    assert [s.attributes["duroxide.execution_id"] for s in executions] == [1, 2, 3]
    assert [s.attributes["duroxide.status"] for s in executions] == [
        "continued_as_new", "continued_as_new", "completed"]
    start = one(spans, "start_orchestration Looping")
    for s in executions:
        assert s.context.trace_id == root.get_span_context().trace_id
        assert parent_of(s) == start.context.span_id
    activities = by_name(spans, "activity Double")
    assert sorted(parent_of(a) for a in activities) == sorted(
        s.context.span_id for s in executions[:2])


def test_failures_are_recorded_with_type_and_message(env, traced) -> None:
    rt = env.make_runtime()

    def broken(ctx, _):
        yield ctx.schedule_timer(1)
        raise KeyError("missing thing")

    rt.register_orchestration("Broken", broken)
    rt.start()
    env.client.start_orchestration("b1", "Broken", None)
    assert wait_done(env.client, "b1").status == "Failed"
    spans = traced.spans()
    span = one(spans, "orchestration Broken")
    assert not span.status.is_ok
    assert span.events[0].attributes["exception.type"] == "KeyError"
    assert "missing thing" in span.events[0].attributes["exception.message"]
    # Started outside any span: the client's span is the trace's root.
    start = one(spans, "start_orchestration Broken")
    assert start.parent is None and parent_of(span) == start.context.span_id


def test_log_records_carry_trace_and_span_ids(env, traced, caplog) -> None:
    rt = env.make_runtime()
    register(rt)
    rt.start()
    caplog.set_level(logging.INFO, logger="duroxide")
    with traced.tracer.start_as_current_span("caller"):
        env.client.start_orchestration("c1", "Child", 4)
    assert wait_done(env.client, "c1").output == 8
    double = one(traced.spans(), "activity Double")
    records = [r for r in caplog.records if r.name == "duroxide.activity.test"]
    assert records and records[0].trace_id == f"{double.context.trace_id:032x}"
    assert records[0].span_id == f"{double.context.span_id:016x}"
    # Every duroxide.* record has the attributes, zeros outside any trace.
    outside = logging.getLogger("duroxide.test").makeRecord(
        "duroxide.test", logging.INFO, __file__, 1, "x", (), None)
    assert outside.trace_id == "0" * 32 and outside.span_id == "0" * 16
    for r in caplog.records:
        if r.name.startswith("duroxide"):
            assert len(r.trace_id) == 32 and len(r.span_id) == 16


def test_instrument_twice_warns_and_uninstrument_stops_spans(env, caplog) -> None:
    t = Traced()
    inst = DuroxideInstrumentor()
    inst.instrument(tracer_provider=t.provider)
    try:
        assert DuroxideInstrumentor() is inst and inst.is_instrumented_by_opentelemetry
        with caplog.at_level(logging.WARNING, logger="duroxide.otel"):
            DuroxideInstrumentor().instrument(tracer_provider=TracerProvider())
        assert "already instrumented" in caplog.text
        env.client.start_orchestration("u1", "Nobody", None)
    finally:
        inst.uninstrument()
    assert not inst.is_instrumented_by_opentelemetry
    env.client.start_orchestration("u2", "Nobody", None)
    assert [s.name for s in t.spans()] == ["start_orchestration Nobody"]
    assert trace.get_current_span().get_span_context().is_valid is False


def test_meter_provider_gets_the_runtime_instruments(env, traced) -> None:
    rt = env.make_runtime()
    register(rt)
    rt.start()
    env.client.start_orchestration("m1", "Child", 1)
    wait_done(env.client, "m1")
    data = traced.reader.get_metrics_data()
    points: Dict[str, List[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points[metric.name] = list(metric.data.data_points)
    assert [p.value for p in points["duroxide.orchestrations.started"]] == [1]
    done = {p.attributes["status"]: p.value for p in points["duroxide.orchestrations.completed"]}
    assert done["completed"] == 1
    acts = {(p.attributes["name"], p.attributes["status"]): p.value
            for p in points["duroxide.activities"]}
    assert acts[("Double", "completed")] == 1


def test_work_stored_without_a_trace_context_gets_a_trace_of_its_own(env) -> None:
    # Started while not instrumented (as by an older duroxide: no trace_context stored), run
    # while instrumented: the instance's own trace, rooted at its execution.
    env.client.start_orchestration("old", "Child", 2)
    t = Traced()
    DuroxideInstrumentor().instrument(tracer_provider=t.provider)
    try:
        rt = env.make_runtime(options=fast_options())
        register(rt)
        rt.start()
        assert wait_done(env.client, "old").output == 4
    finally:
        DuroxideInstrumentor().uninstrument()
    spans = t.spans()
    execution = one(spans, "orchestration Child")
    assert execution.parent is None
    assert parent_of(one(spans, "activity Double")) == execution.context.span_id
    assert {s.context.trace_id for s in spans} == {execution.context.trace_id}
