"""The REST API of `duroxide server` through a real HTTP client against a real uvicorn server.

Runs on every provider of the `env` fixture where the store matters (in-memory SQLite, file
SQLite, PostgreSQL); auth, limits and input checks do not depend on the store and run once.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

import duroxide
from duroxide.server import ServerSettings, create_app
from helpers.live_server import FeatureClient, LiveServer, free_port
from helpers.util import wait_until

PROBLEM = "application/problem+json"


def register(rt: duroxide.Runtime) -> None:
    """Orchestrations with children, KV, custom status, events and failures."""

    @rt.register_activity("Double")
    def double(ctx: Any, x: int) -> int:
        return x * 2

    @rt.register_activity("Explode")
    def explode(ctx: Any, x: Any) -> None:
        raise ValueError(f"boom {x}")

    def child(ctx: Any, n: int) -> Any:
        doubled = yield ctx.schedule_activity("Double", n)
        return doubled

    def parent(ctx: Any, n: int) -> Any:
        ctx.set_custom_status("fanning out")
        ctx.set_kv_value("n", n)
        results = yield ctx.all([ctx.schedule_sub_orchestration("Child", n),
                                 ctx.schedule_sub_orchestration("Child", n + 1)])
        yield ctx.schedule_timer(5)
        return results

    def waiter(ctx: Any, _: Any) -> Any:
        value = yield ctx.wait_for_event("go")
        return {"got": value}

    def fails(ctx: Any, x: Any) -> Any:
        yield ctx.schedule_activity("Explode", x)

    for name, fn in (("Child", child), ("Parent", parent), ("Waiter", waiter), ("Fails", fails)):
        rt.register_orchestration(name, fn)


@pytest.fixture
def live(env: Any) -> Iterator[Any]:
    """(server, httpx client, runtime) on the env's store."""
    rt = env.make_runtime()
    register(rt)
    rt.start()
    with LiveServer(env.client) as server, httpx.Client(base_url=server.url,
                                                        timeout=30) as http:
        yield server, http, rt


@pytest.fixture
def memory_server() -> Iterator[Any]:
    """A server on an in-memory store with a token, and no runtime."""
    client = duroxide.Client(duroxide.SqliteProvider.in_memory())
    with LiveServer(client, token="t0ken", max_body_bytes=4096) as server:
        yield server


def auth(token: str = "t0ken") -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, error: str | None = None) -> Dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: Dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].startswith("urn:duroxide:problem:")
    assert body["title"] and body["detail"]
    if error is not None:
        assert body.get("error") == error, body
    return body


def wait_subscribed(http: httpx.Client, instance_id: str) -> None:
    def subscribed() -> bool:
        r = http.get(f"/v1/instances/{instance_id}/executions/1/history")
        return r.status_code == 200 and any(e["kind"] == "ExternalSubscribed" for e in r.json())

    assert wait_until(subscribed, 10)


# ---- the instance resource on every store ----------------------------------------------------


def test_start_wait_and_read_everything(live: Any) -> None:
    _, http, _ = live
    r = http.post("/v1/instances", json={"name": "Parent", "instance_id": "p1", "input": 5})
    assert r.status_code == 201 and r.headers["location"] == "/v1/instances/p1"
    assert r.json() == {"instance_id": "p1", "name": "Parent", "version": None}

    r = http.get("/v1/instances/p1/wait", params={"timeout_ms": 15000})
    assert r.status_code == 200
    assert r.json()["status"] == "Completed" and r.json()["output"] == [{"ok": 10}, {"ok": 12}]

    detail = http.get("/v1/instances/p1").json()
    assert detail["status"] == "Completed" and detail["output"] == [{"ok": 10}, {"ok": 12}]
    assert json.loads(detail["stored_output"]) == [{"ok": 10}, {"ok": 12}]
    assert detail["custom_status"] == "fanning out" and detail["custom_status_version"] == 1
    assert detail["executions"] == [1] and detail["orchestration_name"] == "Parent"

    status = http.get("/v1/instances/p1/status").json()
    assert status == {"instance_id": "p1", "status": "Completed", "output": [{"ok": 10}, {"ok": 12}],
                      "error": None, "custom_status": "fanning out", "custom_status_version": 1}
    assert http.get("/v1/instances/p1/custom-status").json()["custom_status"] == "fanning out"

    history = http.get("/v1/instances/p1/executions/1/history").json()
    kinds = [e["kind"] for e in history]
    assert kinds[0] == "OrchestrationStarted" and kinds[-1] == "OrchestrationCompleted"
    assert "SubOrchestrationScheduled" in kinds and "TimerFired" in kinds
    assert [e["event_id"] for e in history] == sorted(e["event_id"] for e in history)

    executions = http.get("/v1/instances/p1/executions").json()
    assert executions[0]["execution_id"] == 1 and executions[0]["status"] == "Completed"
    assert http.get("/v1/instances/p1/executions/1").json()["event_count"] == len(history)

    tree = http.get("/v1/instances/p1/tree").json()
    assert tree["root_id"] == "p1" and tree["size"] == 3 and len(tree["nodes"]) == 3
    children = [n for n in tree["nodes"] if n["parent_instance_id"] == "p1"]
    assert len(children) == 2 and all(c["status"] == "Completed" for c in children)

    assert http.get("/v1/instances/p1/kv").json() == {"instance_id": "p1", "values": {"n": "5"}}
    assert http.get("/v1/instances/p1/kv/n").json()["value"] == "5"
    assert http.get("/v1/instances/p1/stats").json()["kv_user_key_count"] == 1

    ids = [i["instance_id"] for i in http.get("/v1/instances").json()["items"]]
    assert "p1" in ids and len(ids) == 3


def test_events_cancel_delete_prune_and_metrics(live: Any) -> None:
    _, http, _ = live
    assert http.post("/v1/instances", json={"name": "Waiter", "instance_id": "w1"}).status_code == 201
    wait_subscribed(http, "w1")
    r = http.post("/v1/instances/w1/events", json={"name": "go", "data": {"ok": 1}})
    assert r.status_code == 202 and r.json() == {"instance_id": "w1", "accepted": True}
    done = http.get("/v1/instances/w1/wait", params={"timeout_ms": 10000}).json()
    assert done["output"] == {"got": {"ok": 1}}
    assert_problem(http.post("/v1/instances/w1/events", json={"name": "go"}), 409)

    http.post("/v1/instances", json={"name": "Waiter", "instance_id": "w2"})
    wait_subscribed(http, "w2")
    assert_problem(http.delete("/v1/instances/w2"), 409, "FailedPreconditionError")
    r = http.post("/v1/instances/w2/cancel", json={"reason": "test"})
    assert r.status_code == 202 and r.json()["cancel_requested"] is True
    failed = http.get("/v1/instances/w2/wait", params={"timeout_ms": 10000}).json()
    assert failed["status"] == "Failed" and "canceled: test" in failed["error"]
    assert http.post("/v1/instances/w2/cancel").json()["cancel_requested"] is False

    r = http.delete("/v1/instances/w2")
    assert r.status_code == 200 and r.json()["instances_deleted"] == 1
    assert_problem(http.get("/v1/instances/w2"), 404, "NotFoundError")
    assert http.post("/v1/instances/w1/prune", json={"keep_last": 1}).json()[
        "executions_deleted"] == 0

    metrics = http.get("/v1/metrics").json()
    assert metrics["system"]["completed_instances"] == 1
    assert set(metrics["queues"]) == {"orchestrator_queue", "worker_queue", "timer_queue"}
    assert http.get("/v1/queues").json() == metrics["queues"]
    assert wait_until(lambda: len(http.get("/v1/metrics/history").json()["samples"]) > 0, 5)
    r = http.post("/v1/instances/bulk-delete", json={"instance_ids": ["w1"]})
    assert r.json()["instances_deleted"] == 1
    assert http.post("/v1/instances/bulk-prune", json={}).status_code == 200


def test_errors_are_problem_documents(live: Any) -> None:
    _, http, _ = live
    for path in ("/v1/instances/nope", "/v1/instances/nope/status", "/v1/instances/nope/tree",
                 "/v1/instances/nope/kv", "/v1/instances/nope/kv/k",
                 "/v1/instances/nope/executions", "/v1/instances/nope/executions/1",
                 "/v1/instances/nope/executions/1/history", "/v1/instances/nope/stats",
                 "/v1/instances/nope/custom-status"):
        body = assert_problem(http.get(path), 404, "NotFoundError")
        assert body["instance"] == path
    for path in ("/v1/instances/nope/wait", "/v1/instances/nope/status?after_version=0",
                 "/v1/instances/nope/kv/k?wait=true"):
        assert_problem(http.get(path), 404, "NotFoundError")
    assert_problem(http.post("/v1/instances/nope/events", json={"name": "x"}), 404)
    assert_problem(http.post("/v1/instances/nope/queues/q", json={}), 404)
    assert_problem(http.post("/v1/instances/nope/cancel"), 404)
    assert_problem(http.delete("/v1/instances/nope"), 404)
    assert_problem(http.get("/v1/no/such/route"), 404)

    http.post("/v1/instances", json={"name": "Fails", "instance_id": "f1", "input": 3})
    assert_problem(http.post("/v1/instances", json={"name": "Fails", "instance_id": "f1"}), 409,
                   "InstanceAlreadyExistsError")
    failed = http.get("/v1/instances/f1/wait", params={"timeout_ms": 10000}).json()
    assert failed["status"] == "Failed" and "boom 3" in failed["error"]

    http.post("/v1/instances", json={"name": "Waiter", "instance_id": "w3"})
    started = time.monotonic()
    body = assert_problem(http.get("/v1/instances/w3/wait", params={"timeout_ms": 300}), 504,
                          "OperationTimedOutError")
    assert time.monotonic() - started < 5 and "timed out" in body["detail"]
    assert_problem(http.get("/v1/instances/w3/status",
                            params={"after_version": 5, "timeout_ms": 200}), 504)
    assert_problem(http.get("/v1/instances/w3/kv/missing", params={"wait": True,
                                                                   "timeout_ms": 200}),
                   504, "OperationTimedOutError")


def test_list_filters_and_cursor_pagination(live: Any) -> None:
    _, http, _ = live
    for i in range(12):
        http.post("/v1/instances", json={"name": "Child", "instance_id": f"c-{i:02d}",
                                         "input": i})
        time.sleep(0.002)
    http.post("/v1/instances", json={"name": "Waiter", "instance_id": "w-x"})
    for i in range(12):
        assert http.get(f"/v1/instances/c-{i:02d}/wait").json()["status"] == "Completed"
    assert wait_until(lambda: http.get("/v1/instances/w-x").json()["status"] == "Running", 10)

    seen: List[str] = []
    cursor = None
    while True:
        page = http.get("/v1/instances", params={"limit": 5, **({"cursor": cursor}
                                                                  if cursor else {})}).json()
        assert len(page["items"]) <= 5
        seen += [i["instance_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 13 and len(set(seen)) == 13
    created = [http.get(f"/v1/instances/{i}").json()["created_at"] for i in seen]
    assert created == sorted(created, reverse=True)  # newest first

    def ids(**params: Any) -> List[str]:
        return [i["instance_id"] for i in http.get("/v1/instances", params=params).json()["items"]]

    assert ids(status="running") == ["w-x"]
    assert len(ids(status="Completed")) == 12
    assert ids(name="Wait*") == ["w-x"]
    assert set(ids(q="c-0", limit=100)) == {f"c-0{i}" for i in range(10)}
    created_at = {i: http.get(f"/v1/instances/{i}").json()["created_at"] for i in seen}
    middle = created_at["c-05"]
    assert set(ids(created_after=middle, name="Child", limit=100)) == {
        i for i, t in created_at.items() if t > middle and i.startswith("c-")}
    assert set(ids(created_before=middle, limit=100)) == {
        i for i, t in created_at.items() if t < middle}
    assert ids(updated_before=1) == []


def test_concurrent_clients(live: Any) -> None:
    server, _, _ = live
    errors: List[BaseException] = []

    def worker(n: int) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for i in range(5):
                    r = http.post("/v1/instances", json={"name": "Child", "input": i,
                                                         "instance_id": f"cc-{n}-{i}"})
                    assert r.status_code == 201
                for i in range(5):
                    r = http.get(f"/v1/instances/cc-{n}-{i}/wait", params={"timeout_ms": 20000})
                    assert r.json()["output"] == i * 2
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]


# ---- store-independent behaviour --------------------------------------------------------------


def test_auth_missing_and_wrong_token(memory_server: LiveServer) -> None:
    with httpx.Client(base_url=memory_server.url) as http:
        body = assert_problem(http.get("/v1/instances"), 401)
        assert "bearer" in body["detail"].lower()
        assert http.get("/v1/instances").headers["www-authenticate"] == "Bearer"
        assert_problem(http.get("/v1/instances", headers=auth("wrong")), 403)
        assert_problem(http.get("/v1/instances", headers={"Authorization": "Basic dTpw"}), 401)
        assert_problem(http.post("/v1/instances", json={"name": "X"}), 401)
        assert_problem(http.get("/v1/metrics", headers=auth("t0ke")), 403)
        assert http.get("/v1/instances", headers=auth()).status_code == 200
        assert http.get("/v1/health").status_code == 200  # probes need no token
        assert http.get("/v1/health/ready").json()["status"] == "ready"
        client = duroxide.HttpClient(memory_server.url, token="wrong")
        with pytest.raises(duroxide.DuroxideError, match="403"):
            client.get_status("x")
        assert duroxide.HttpClient(memory_server.url, token="t0ken").get_status(
            "x").status == "NotFound"


BAD_INPUT = [
    ("POST", "/v1/instances", {"json": {}}, "name"),
    ("POST", "/v1/instances", {"json": {"name": ""}}, "name"),
    ("POST", "/v1/instances", {"json": {"name": "X", "instance_id": ""}}, "instance_id"),
    ("POST", "/v1/instances", {"json": {"name": "X", "extra": 1}}, "extra"),
    ("POST", "/v1/instances", {"content": b"{not json",
                               "headers": {"Content-Type": "application/json"}}, "body"),
    ("GET", "/v1/instances", {"params": {"limit": 0}}, "limit"),
    ("GET", "/v1/instances", {"params": {"status": "Sleeping"}}, "status"),
    ("GET", "/v1/instances", {"params": {"cursor": "garbage!"}}, "cursor"),
    ("GET", "/v1/instances", {"params": {"created_after": "yesterday"}}, "created_after"),
    ("GET", "/v1/instances/x/wait", {"params": {"timeout_ms": -1}}, "timeout_ms"),
    ("GET", "/v1/instances/x/wait", {"params": {"timeout_ms": 10**9}}, "timeout_ms"),
    ("GET", "/v1/instances/x/status", {"params": {"after_version": "a"}}, "after_version"),
    ("GET", "/v1/instances/x/executions/0/history", {}, "execution_id"),
    ("GET", "/v1/instances/x/executions/abc/history", {}, "execution_id"),
    ("POST", "/v1/instances/x/events", {"json": {"data": 1}}, "name"),
    ("POST", "/v1/instances/x/queues/q", {"json": {"payload": 1}}, "payload"),
    ("POST", "/v1/instances/x/cancel", {"json": {"reason": 5}}, "reason"),
    ("DELETE", "/v1/instances/x", {"params": {"force": "maybe"}}, "force"),
    ("POST", "/v1/instances/x/prune", {"json": {"keep_last": -1}}, "keep_last"),
    ("POST", "/v1/instances/bulk-delete", {"json": {"limit": 0}}, "limit"),
    ("POST", "/v1/instances/bulk-prune", {"json": {"options": {"completed_before": -5}}},
     "options.completed_before"),
]


@pytest.mark.parametrize("method, path, kwargs, field", BAD_INPUT,
                         ids=[f"{m} {p} {f}" for m, p, _, f in BAD_INPUT])
def test_bad_input_is_400_naming_the_field(memory_server: LiveServer, method: str, path: str,
                                           kwargs: Dict[str, Any], field: str) -> None:
    headers = {**auth(), **kwargs.pop("headers", {})}
    with httpx.Client(base_url=memory_server.url) as http:
        r = http.request(method, path, headers=headers, **kwargs)
    body = assert_problem(r, 400, "InvalidArgumentError")
    assert field in body["detail"]
    if "errors" in body:
        assert any(e["field"] == field or e["field"].endswith(field) for e in body["errors"])


def test_large_bodies_are_refused_with_413(memory_server: LiveServer) -> None:
    with httpx.Client(base_url=memory_server.url, headers=auth()) as http:
        big = {"name": "X", "input": "x" * 5000}
        assert_problem(http.post("/v1/instances", json=big), 413)

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"name": "X", "input": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}'

        assert_problem(http.post("/v1/instances", content=chunks(),
                                 headers={"Content-Type": "application/json"}), 413)
        assert http.post("/v1/instances", json={"name": "X", "input": "x" * 3000}
                         ).status_code == 201
        assert http.get("/v1/instances").status_code == 200  # the server is still fine


def test_long_poll_ends_when_the_client_disconnects(memory_server: LiveServer) -> None:
    with httpx.Client(base_url=memory_server.url, headers=auth()) as http:
        http.post("/v1/instances", json={"name": "Never", "instance_id": "stuck"})
        socks = []
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", memory_server.port))
            sock.sendall(b"GET /v1/instances/stuck/wait?timeout_ms=60000 HTTP/1.1\r\n"
                         b"Host: x\r\nAuthorization: Bearer t0ken\r\n\r\n")
            socks.append(sock)

        def active() -> int:
            return int(http.get("/v1/metrics").json()["server"]["active_waits"])

        assert wait_until(lambda: active() == 8, 5)
        started = time.monotonic()
        assert http.get("/v1/health").status_code == 200
        assert time.monotonic() - started < 1  # waits do not stall the event loop
        for sock in socks:
            sock.close()
        assert wait_until(lambda: active() == 0, 5), "abandoned long-polls kept running"


def test_openapi_31_swagger_ui_and_dashboard_are_served(memory_server: LiveServer) -> None:
    with httpx.Client(base_url=memory_server.url) as http:
        spec = http.get("/openapi.json").json()
        assert spec["openapi"].startswith("3.1")
        assert "bearer" in json.dumps(spec["components"]["securitySchemes"]).lower()
        for path, operations in spec["paths"].items():
            assert path.startswith("/v1/")
            for method, op in operations.items():
                ok = [c for c in op["responses"] if c.startswith("2")]
                assert ok and "content" in op["responses"][ok[0]], (method, path)
                if not path.startswith("/v1/health"):
                    assert {"401", "403"} <= set(op["responses"]), (method, path)
                assert "422" not in op["responses"], (method, path)  # bad input is a 400
                for code, response in op["responses"].items():
                    if code[0] in "45":
                        assert set(response["content"]) == {PROBLEM}, (method, path, code)
                        assert response["content"][PROBLEM]["schema"]["$ref"].endswith(
                            "/Problem")
        assert "Problem" in spec["components"]["schemas"]
        docs = http.get("/docs")
        assert docs.status_code == 200 and "/static/swagger-ui/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert http.get(f"/static/swagger-ui/{asset}").status_code == 200
        page = http.get("/")
        assert page.status_code == 200 and "duroxide" in page.text
        assert "http://" not in page.text and "https://" not in page.text


def test_security_defaults_and_cors() -> None:
    client = duroxide.Client(duroxide.SqliteProvider.in_memory())
    with pytest.raises(ValueError, match="token"):
        create_app(client, ServerSettings(host="0.0.0.0"))
    create_app(client, ServerSettings(host="0.0.0.0", token="x"))
    create_app(client, ServerSettings(host="::1"))
    with LiveServer(client) as server, httpx.Client(base_url=server.url) as http:
        r = http.get("/v1/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    with LiveServer(client, cors_origins=("http://ok.example",)) as server, \
            httpx.Client(base_url=server.url) as http:
        r = http.get("/v1/health", headers={"Origin": "http://ok.example"})
        assert r.headers["access-control-allow-origin"] == "http://ok.example"


def test_server_command_refuses_non_loopback_without_token_and_serves(tmp_path: Any) -> None:
    db = str(tmp_path / "s.db")
    r = subprocess.run([sys.executable, "-m", "duroxide", "server", "--db", db, "--host",
                        "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "token" in r.stderr
    token = tmp_path / "token"
    token.write_text("abc-0123456789-xyz\n")
    token.chmod(0o600)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "duroxide", "server", "--db", db, "--port",
                             str(port), "--token-file", str(token), "--log-level", "warning"])
    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v1/health").status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(up, 20, 0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/instances").status_code == 401
        assert httpx.get(f"http://127.0.0.1:{port}/v1/instances",
                         headers=auth("abc-0123456789-xyz")).status_code == 200
    finally:
        proc.terminate()
        proc.wait(10)


def test_feature_routers_appear_with_their_client_methods() -> None:
    """Messaging, workers and graphs routers are included only when Client has the methods."""
    plain = duroxide.Client(duroxide.SqliteProvider.in_memory())
    features = {"/v1/workers": "list_workers", "/v1/topics": "list_topics",
                "/v1/dead-letters": "list_dead_letters", "/v1/instances/x/graph": "get_graph"}
    with LiveServer(plain) as server, httpx.Client(base_url=server.url) as http:
        for path, method in features.items():
            if not hasattr(plain, method):
                assert_problem(http.get(path), 404)
    client = FeatureClient(plain)
    plain.start_orchestration("g1", "Graph", None)
    with LiveServer(client) as server, httpx.Client(base_url=server.url) as http:
        graph = http.get("/v1/instances/g1/graph").json()
        assert [n["status"] for n in graph["nodes"]] == ["completed", "completed", "failed",
                                                         "skipped"]
        assert [tuple(e) for e in graph["edges"]] == [(0, 1), (0, 2), (1, 3), (2, 3)]
        assert_problem(http.get("/v1/instances/nope/graph"), 404)
        workers = http.get("/v1/workers").json()
        assert [w["worker_id"] for w in workers] == ["amber-otter-1", "brisk-heron-2"]
        assert http.get("/v1/workers/amber-otter-1").json()["load"] == {"turns_in_flight": 3}
        assert_problem(http.get("/v1/workers/nobody"), 404)
        assert http.post("/v1/workers/amber-otter-1/drain").status_code == 202
        assert client.drained == ["amber-otter-1"]
        assert http.get("/v1/topics").json()[0]["topic"] == "orders"
        assert http.post("/v1/topics/orders/events", json={"data": 1}).json()["seq"] == 7
        assert http.get("/v1/dead-letters").json()[0]["reason"] == "instance not found"
        r = http.post("/v1/messages", json={"instance_id": "g1", "queue": "inbox", "data": 2})
        assert r.status_code == 202 and r.json()["message_id"] == "msg-g1-inbox"
        assert_problem(http.post("/v1/messages", json={"queue": "q"}), 400)
        paths = http.get("/openapi.json").json()["paths"]
        assert {"/v1/workers", "/v1/topics", "/v1/dead-letters", "/v1/messages",
                "/v1/instances/{instance_id}/graph"} <= set(paths)


def test_cli_commands_work_over_http(live: Any, capsys: Any, monkeypatch: Any,
                                     tmp_path: Any) -> None:
    """`duroxide --url` (and DUROXIDE_URL) runs the same commands through HttpClient."""
    from duroxide import cli

    server, http, _ = live
    monkeypatch.delenv("DUROXIDE_DB", raising=False)
    assert cli.main(["--url", server.url, "start", "Parent", "--id", "cli-1", "--input", "2"]) == 0
    http.get("/v1/instances/cli-1/wait", params={"timeout_ms": 15000})
    capsys.readouterr()
    assert cli.main(["--url", server.url, "show", "cli-1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "Completed" and shown["kv"] == {"n": "2"}
    monkeypatch.setenv("DUROXIDE_URL", server.url)
    assert cli.main(["list", "--json", "--status", "completed"]) == 0
    listed = {i["instance_id"] for i in json.loads(capsys.readouterr().out)}
    assert "cli-1" in listed and len(listed) == 3
    assert cli.main(["tree", "cli-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["size"] == 3
    assert cli.main(["history", "cli-1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["kind"] == "OrchestrationStarted"
    assert cli.main(["show", "nope"]) == 3
    assert "Instance nope not found" in capsys.readouterr().err
    assert cli.main(["metrics", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["system"]["completed_instances"] == 3
    assert cli.main(["delete", "cli-1"]) == 0
    assert cli.main(["--url", "ftp://x", "list"]) == 2


def test_browser_guard_against_dns_rebinding_and_cross_site_requests() -> None:
    client = duroxide.Client(duroxide.SqliteProvider.in_memory())
    with LiveServer(client) as server, httpx.Client(base_url=server.url) as http:
        browser = {"Sec-Fetch-Site": "same-origin"}
        assert_problem(http.get("/v1/instances", headers={**browser,
                                                          "Host": "evil.example:8200"}), 403)
        assert http.get("/v1/instances", headers=browser).status_code == 200
        assert http.get("/v1/instances", headers={"Host": "localhost:1"}).status_code == 200
        assert http.get("/v1/health", headers={"Host": "other"}).status_code == 200  # not a browser
        evil = {"Origin": "http://evil.example"}
        body = {"name": "X", "instance_id": "csrf"}
        assert_problem(http.post("/v1/instances", json=body, headers=evil), 403)
        assert_problem(http.post("/v1/instances/csrf/cancel", headers=evil), 403)
        assert client.get_status("csrf").status == "NotFound"
        same = {"Origin": server.url}
        assert http.post("/v1/instances", json=body, headers=same).status_code == 201
    with LiveServer(client, token="t", cors_origins=("http://ok.example",)) as server, \
            httpx.Client(base_url=server.url, headers=auth("t")) as http:
        r = http.post("/v1/instances", json={"name": "X"}, headers={"Origin": "http://ok.example"})
        assert r.status_code == 201
        r = http.get("/v1/instances", headers={"Host": "ops.example", "Sec-Fetch-Site": "none"})
        assert r.status_code == 200  # with a token any host name is fine


@pytest.mark.skipif(not hasattr(duroxide.Client, "send_message"), reason="no messaging")
def test_messaging_endpoints_and_http_client(env: Any) -> None:
    """/v1/messages, topics, requests and dead letters on the real messaging Client."""
    rt = env.make_runtime()

    def inbox(ctx: Any, _: Any) -> Any:
        value = yield ctx.dequeue_event("inbox")
        return value

    rt.register_orchestration("Inbox", inbox)
    rt.start()
    with LiveServer(env.client) as server, httpx.Client(base_url=server.url) as http, \
            duroxide.HttpClient(server.url) as remote:
        env.client.start_orchestration("box", "Inbox", None)
        r = http.post("/v1/messages", json={"instance_id": "box", "queue": "inbox",
                                            "data": {"hi": 1}})
        assert r.status_code == 202 and r.json()["message_id"]
        assert env.client.wait_for_orchestration("box", 10000).output == {"hi": 1}

        remote.send_message("ghost", "inbox", 5)  # no such instance: a dead letter
        assert wait_until(lambda: any(d.instance_id == "ghost"
                                      for d in remote.list_dead_letters()), 10)
        letters = http.get("/v1/dead-letters", params={"instance_id": "ghost"}).json()
        assert letters[0]["data"] == 5 and "does not exist" in letters[0]["reason"]
        assert type(remote.list_dead_letters()[0]) is type(env.client.list_dead_letters()[0])
        assert remote.purge_dead_letters("ghost") >= 1 and remote.list_dead_letters("ghost") == []

        assert remote.publish_event("news", {"n": 1}) >= 1
        assert [t.topic for t in remote.list_topics()] == [t.topic for t in
                                                            env.client.list_topics()]
        with pytest.raises(duroxide.RequestFailedError):
            remote.request("ghost", "ping", None, timeout_ms=5000)
        assert_problem(http.post("/v1/requests", json={"instance_id": "ghost",
                                                       "operation": "ping", "timeout_ms": 5000}),
                       404, "RequestTargetNotFoundError")  # issue 21: a missing target is 404
        assert_problem(http.post("/v1/messages", json={"instance_id": "", "queue": "q"}), 400)
        assert http.get("/v1/actors").json() == []


@pytest.mark.skipif(not hasattr(duroxide.Client, "list_workers"), reason="no worker fleet")
def test_workers_endpoints_on_the_real_fleet(live: Any, env: Any) -> None:
    """/v1/workers lists the running runtime with load and heartbeat; drain is accepted."""
    server, http, _ = live
    assert wait_until(lambda: len(http.get("/v1/workers").json()) >= 1, 10)
    worker = http.get("/v1/workers").json()[0]
    assert worker["status"] == "active" and worker["last_heartbeat_ms"] > 0
    assert isinstance(worker["load"], dict)
    assert http.get(f"/v1/workers/{worker['worker_id']}").json()["name"] == worker["name"]
    assert_problem(http.get("/v1/workers/nobody-here"), 404, "NotFoundError")
    with duroxide.HttpClient(server.url) as remote:
        ours, theirs = remote.list_workers()[0], env.client.list_workers()[0]
        assert type(ours) is type(theirs)
        assert (ours.worker_id, ours.name, ours.host, ours.capacity) == \
            (theirs.worker_id, theirs.name, theirs.host, theirs.capacity)
        with pytest.raises(duroxide.NotFoundError):
            remote.get_worker("nobody-here")
    r = http.post(f"/v1/workers/{worker['worker_id']}/drain")
    assert r.status_code == 202 and r.json()["drain_requested"] is True


@pytest.mark.skipif(not hasattr(duroxide.Client, "get_graph"), reason="no task graphs")
def test_graph_endpoint_on_a_real_task_graph(tmp_path: Any) -> None:
    """/v1/instances/{id}/graph shows a submitted graph's nodes, edges and node status."""
    provider = duroxide.SqliteProvider.open(str(tmp_path / "g.db"))
    client = duroxide.Client(provider)
    reg = duroxide.Registry()

    @reg.task()
    def compile(src: str) -> str:
        return f"{src}.o"

    @reg.task()
    def link(*objs: str) -> str:
        return "+".join(objs)

    rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20),
                          registry=reg)
    rt.start()
    try:
        graph_id = client.submit(link(compile("a"), compile("b")))
        assert client.wait_for_orchestration(graph_id, 15000).status == "Completed"
        client.start_orchestration("not-a-graph", "Nothing", None)
        with LiveServer(client) as server, httpx.Client(base_url=server.url) as http:
            graph = http.get(f"/v1/instances/{graph_id}/graph").json()
            assert sorted(n["task"] for n in graph["nodes"]) == ["compile", "compile", "link"]
            assert all(n["status"] == "completed" for n in graph["nodes"])
            link_node = next(n for n in graph["nodes"] if n["task"] == "link")
            assert sorted(link_node["deps"]) == sorted(
                n["id"] for n in graph["nodes"] if n["task"] == "compile")
            assert len(graph["edges"]) == 2
            assert_problem(http.get("/v1/instances/not-a-graph/graph"), 404)
            with duroxide.HttpClient(server.url) as remote:
                assert remote.get_graph(graph_id) == client.get_graph(graph_id)
                assert remote.get_graph("not-a-graph")["nodes"] == []
            assert_problem(http.get("/v1/instances/nope/graph"), 404, "NotFoundError")
    finally:
        rt.shutdown(3000)
