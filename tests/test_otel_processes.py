"""A trace across processes (issue 27): a client span in this process starts a workflow that two
worker processes run, the first SIGKILLed in the middle of an activity; every process exports
over OTLP/HTTP to a receiver started here, which decodes the protobuf export
(opentelemetry-proto). The trace must hold the orchestration, its activities (a retried one
included), a sub-orchestration and a message, with no span duplicated by replay."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from duroxide import Client, SqliteProvider
from helpers.util import wait_until

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
from duroxide.otel import DuroxideInstrumentor  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: E402
    OTLPSpanExporter,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402

HELPER = Path(__file__).parent / "helpers" / "otel_worker.py"


class Receiver:
    """An OTLP/HTTP trace receiver: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.spans: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.add(request)
                out = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def add(self, request: Any) -> None:
        with self.lock:
            for rs in request.resource_spans:
                service = next((a.value.string_value for a in rs.resource.attributes
                                if a.key == "service.name"), "")
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        attrs = {}
                        for a in s.attributes:
                            v = a.value
                            attrs[a.key] = (v.int_value if v.HasField("int_value")
                                            else v.string_value)
                        self.spans.append({
                            "service": service, "name": s.name, "trace_id": s.trace_id.hex(),
                            "span_id": s.span_id.hex(), "parent": s.parent_span_id.hex(),
                            "attrs": attrs, "error": s.status.code == 2,
                            "links": [link.span_id.hex() for link in s.links],
                        })

    def named(self, name: str) -> List[Dict[str, Any]]:
        with self.lock:
            return [s for s in self.spans if s["name"] == name]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def _worker(db: Path, endpoint: str, name: str, markers: Path) -> "subprocess.Popen[bytes]":
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), *sys.path])}
    return subprocess.Popen([sys.executable, str(HELPER), str(db), endpoint, name,
                             str(markers)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_a_trace_spans_two_worker_processes_and_a_crash(tmp_path, receiver) -> None:
    db = tmp_path / "otel.db"
    markers = tmp_path / "markers"
    markers.mkdir()
    client = Client(SqliteProvider.open(str(db)))
    provider = TracerProvider(resource=Resource.create({"service.name": "test"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=receiver.endpoint)))
    inst = DuroxideInstrumentor()
    inst.instrument(tracer_provider=provider)
    workers: List["subprocess.Popen[bytes]"] = []
    try:
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("checkout") as root:
            client.start_orchestration("order-1", "Parent", 1)
            client.send_message("order-1", "inbox", "hello")
        trace_id = f"{root.get_span_context().trace_id:032x}"
        workers.append(_worker(db, receiver.endpoint, "worker-a", markers))
        assert wait_until(lambda: (markers / "slow-started").exists(), 60)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        workers.append(_worker(db, receiver.endpoint, "worker-b", markers))
        status = client.wait_for_orchestration("order-1", 60000)
        assert status.status == "Completed", status
        assert wait_until(lambda: len(receiver.named("orchestration Parent")) >= 1, 30)
        time.sleep(0.5)  # spans exported after the last one we waited for
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGKILL)
                w.wait(10)
        inst.uninstrument()
        provider.shutdown()

    spans = [s for s in receiver.spans if s["trace_id"] == trace_id]
    names = Counter(s["name"] for s in spans)
    execution = receiver.named("orchestration Parent")
    assert len(execution) == 1, names  # never duplicated by the replay on worker-b
    execution = execution[0]
    assert execution["trace_id"] == trace_id
    assert execution["service"] == "worker-b"  # the process that ran its last step
    start = receiver.named("start_orchestration Parent")[0]
    assert start["parent"] == f"{root.get_span_context().span_id:016x}"
    assert execution["parent"] == start["span_id"]
    flaky = receiver.named("activity Flaky")
    assert len(flaky) == 2 and sorted(s["error"] for s in flaky) == [False, True]
    assert all(s["parent"] == execution["span_id"] for s in flaky)
    assert {s["service"] for s in flaky} == {"worker-a"}
    child = receiver.named("orchestration Child")
    assert len(child) == 1 and child[0]["parent"] == execution["span_id"]
    double = receiver.named("activity Double")
    assert len(double) == 1 and double[0]["parent"] == child[0]["span_id"]
    # The attempt killed on worker-a never ended; worker-b ran it again as attempt 2.
    slow = receiver.named("activity Slow")
    assert len(slow) == 1 and slow[0]["service"] == "worker-b"
    assert slow[0]["attrs"]["duroxide.attempt"] == 2
    assert slow[0]["parent"] == execution["span_id"]
    send = receiver.named("send_message inbox")[0]
    assert execution["links"] == [send["span_id"]]
    for s in spans:
        if s["name"].startswith("orchestration"):
            assert names[s["name"]] == 1
