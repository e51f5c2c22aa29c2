"""Prometheus metrics (issue 27): Runtime.serve_metrics, `duroxide worker --metrics-port` and
the server's GET /metrics, scraped over HTTP and parsed with prometheus_client's parser; the
values are checked against the work done."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Tuple

import duroxide
import pytest
from conftest import fast_options
from duroxide import Client, Runtime, SqliteProvider
from duroxide.errors import InvalidArgumentError
from helpers.util import wait_done, wait_until

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

Samples = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]

ROOT = Path(__file__).resolve().parent.parent


def scrape(url: str, headers: Dict[str, str] | None = None) -> Samples:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def build(rt: Runtime) -> None:
    def sleepy(ctx, ms):
        time.sleep(ms / 1000)
        return ms

    def boom(ctx, _):
        raise ValueError("boom")

    def flow(ctx, n):
        total = 0
        for _ in range(n):
            total += yield ctx.schedule_activity("Sleepy", 30)
        try:
            yield ctx.schedule_activity("Boom", None)
        except Exception:
            pass
        return total

    def failing(ctx, _):
        raise RuntimeError("no")
        yield  # pragma: no cover

    rt.register_activity("Sleepy", sleepy)
    rt.register_activity("Boom", boom)
    rt.register_orchestration("Flow", flow)
    rt.register_orchestration("Failing", failing)


def test_serve_metrics_counts_the_work_done(env) -> None:
    rt = env.make_runtime()
    build(rt)
    rt.start()
    server = rt.serve_metrics(0)
    try:
        for i in range(3):
            env.client.start_orchestration(f"flow-{i}", "Flow", 2)
        env.client.start_orchestration("bad", "Failing", None)
        for i in range(3):
            wait_done(env.client, f"flow-{i}")
        wait_done(env.client, "bad")
        # A turn's duration is observed right after its commit returns, so a client can see
        # the last commit a moment before the histogram counts it: scrape until it does.
        deadline = time.monotonic() + 10
        s = scrape(server.url)
        while (value(s, "duroxide_turn_duration_seconds_count") < 4 + 9
               and time.monotonic() < deadline):
            time.sleep(0.05)
            s = scrape(server.url)
        assert value(s, "duroxide_orchestrations_started_total") == 4
        assert value(s, "duroxide_orchestrations_completed_total", status="completed") == 3
        assert value(s, "duroxide_orchestrations_completed_total", status="failed") == 1
        assert value(s, "duroxide_activities_total", name="Sleepy", status="completed") == 6
        assert value(s, "duroxide_activities_total", name="Boom", status="failed") == 3
        assert value(s, "duroxide_activities_total", name="Boom", status="completed") == 0
        # Six 30 ms attempts: none under 25 ms, all counted, the sum at least 0.18 s.
        assert value(s, "duroxide_activity_duration_seconds_count", name="Sleepy") == 6
        assert value(s, "duroxide_activity_duration_seconds_bucket", name="Sleepy",
                     le="0.025") == 0
        assert value(s, "duroxide_activity_duration_seconds_bucket", name="Sleepy",
                     le="+Inf") == 6
        assert value(s, "duroxide_activity_duration_seconds_sum", name="Sleepy") >= 0.18
        # Every committed turn is observed once: at least the 4 starts, the 6 + 3 completions.
        turns = value(s, "duroxide_turn_duration_seconds_count")
        assert turns >= 4 + 9
        assert value(s, "duroxide_turn_duration_seconds_bucket", le="+Inf") == turns
        # The store's gauges.
        assert value(s, "duroxide_instances", status="completed") == 3
        assert value(s, "duroxide_instances", status="failed") == 1
        assert value(s, "duroxide_instances", status="running") == 0
        assert value(s, "duroxide_workers", status="active") >= 1
        for queue in ("orchestrator", "worker", "timer"):
            assert ("duroxide_queue_depth", (("queue", queue),)) in s
        assert value(s, "duroxide_dead_letters") == 0
        # Label values are bounded: no instance id appears in any label.
        for (_name, labels) in s:
            for _k, v in labels:
                assert not v.startswith("flow-") and v != "bad"
    finally:
        server.stop()


def test_queue_depth_gauge_follows_the_queue(tmp_path) -> None:
    provider = SqliteProvider.open(str(tmp_path / "q.db"))
    client = Client(provider)
    rt = Runtime(provider, fast_options(orchestration_concurrency=0, worker_concurrency=0))
    rt.start()
    try:
        server = rt.serve_metrics(0)
        for i in range(5):
            client.start_orchestration(f"q-{i}", "Nobody", None)
        s = scrape(server.url)
        assert value(s, "duroxide_queue_depth", queue="orchestrator") == 5
        assert value(s, "duroxide_orchestrations_started_total") == 0
    finally:
        rt.close()


def test_a_port_in_use_is_a_clear_error(env) -> None:
    rt = env.make_runtime()
    rt.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InvalidArgumentError, match=f"metrics port {port} .*in use"):
            rt.serve_metrics(port)
    with pytest.raises(InvalidArgumentError, match="0..65535"):
        rt.serve_metrics(70000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


REGISTRY_MODULE = """
import duroxide
reg = duroxide.Registry()

@reg.register_activity("Hello")
def hello(ctx, name):
    return "hi " + name

@reg.register_orchestration("Greet")
def greet(ctx, name):
    return (yield ctx.schedule_activity("Hello", name))
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "duroxide", *args]


def test_worker_metrics_port(tmp_path) -> None:
    (tmp_path / "wf.py").write_text(REGISTRY_MODULE)
    db = str(tmp_path / "w.db")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(duroxide.__file__).parent.parent), str(tmp_path)])}
    proc = subprocess.Popen(_cli("worker", "wf:reg", "--db", db, "--metrics-port", str(port)),
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = Client(SqliteProvider.open(db))
        client.start_orchestration("g1", "Greet", "ann")
        wait_done(client, "g1", 20000)
        url = f"http://127.0.0.1:{port}/metrics"

        def counted() -> bool:
            try:
                s = scrape(url)
            except OSError:
                return False
            return value(s, "duroxide_orchestrations_completed_total", status="completed") == 1
        assert wait_until(counted, 10)
        s = scrape(url)
        assert value(s, "duroxide_activities_total", name="Hello", status="completed") == 1
        # A second worker on the same port fails at once, naming the port.
        second = subprocess.run(
            _cli("worker", "wf:reg", "--db", db, "--metrics-port", str(port)), env=env,
            capture_output=True, text=True, timeout=60)
        assert second.returncode != 0
        assert f"metrics port {port}" in second.stderr + second.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_server_metrics_route_is_behind_the_token(tmp_path) -> None:
    pytest.importorskip("uvicorn")
    from helpers.live_server import LiveServer

    provider = SqliteProvider.open(str(tmp_path / "s.db"))
    client = Client(provider)
    for i in range(2):
        client.start_orchestration(f"s-{i}", "Nobody", None)
    with LiveServer(client, token="sekrit") as live:
        with pytest.raises(urllib.error.HTTPError) as denied:
            scrape(live.url + "/metrics")
        assert denied.value.code == 401
        denied.value.close()
        s = scrape(live.url + "/metrics", {"Authorization": "Bearer sekrit"})
        assert value(s, "duroxide_queue_depth", queue="orchestrator") == 2
        # No worker ran: the starts are queued, no instance exists yet.
        assert sum(value(s, "duroxide_instances", status=x)
                   for x in ("running", "completed", "failed", "other")) == 0
        # The server runs no runtime: only the store's gauges.
        assert not any(name.startswith("duroxide_activities") for name, _ in s)
