"""The HTTP edge (issue 21 item 5), through a real uvicorn and a real HTTP client: error
statuses from codes, bad cursors and integers, security headers, the request read deadline,
token files and read-only stores. Store-related tests run on SQLite and PostgreSQL (`env`).
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

import duroxide
from duroxide.server.settings import MIN_TOKEN_BYTES, read_token_file
from helpers.live_server import LiveServer
from helpers.util import wait_until

PROBLEM = "application/problem+json"
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def problem(r: Any, status: int, code: str) -> Dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body: Dict[str, Any] = r.json()
    assert body["type"] == f"urn:duroxide:problem:{code}", body
    assert "incompatible function arguments" not in r.text and " at 0x" not in r.text
    return body


@pytest.fixture
def live(env: Any) -> Iterator[Any]:
    rt = env.make_runtime()

    @rt.register_orchestration("Waiter")
    def waiter(ctx: Any, _: Any) -> Any:
        value = yield ctx.wait_for_event("go")
        return value

    @rt.register_orchestration("Silent")
    def silent(ctx: Any, _: Any) -> Any:
        yield ctx.receive_message("never")

    rt.start()
    with LiveServer(env.client) as server, httpx.Client(base_url=server.url,
                                                        timeout=30) as http:
        yield server, http, rt


# ---- statuses from error codes ------------------------------------------------------------------


def test_request_statuses_missing_target_404_timeout_504(live: Any) -> None:
    server, http, _ = live
    body = problem(http.post("/v1/requests", json={"instance_id": "nobody", "operation": "op",
                                                   "data": 1, "timeout_ms": 5000}),
                   404, "request-target-not-found")
    assert "does not exist" in body["detail"] and body["error"] == "RequestTargetNotFoundError"
    http.post("/v1/instances", json={"name": "Silent", "instance_id": "silent"})
    problem(http.post("/v1/requests", json={"instance_id": "silent", "operation": "op",
                                            "timeout_ms": 300}), 504, "request-timeout")
    with duroxide.HttpClient(server.url) as remote:
        with pytest.raises(duroxide.RequestTargetNotFoundError):
            remote.request("nobody", "op", 1, 5000)
        with pytest.raises(duroxide.RequestFailedError):  # what it always was, too
            remote.request("nobody", "op", 1, 5000)
        with pytest.raises(duroxide.NotFoundError):
            remote.request("nobody", "op", 1, 5000)


def test_draining_a_stopped_worker_is_409(live: Any, env: Any) -> None:
    _, http, _ = live
    spare = duroxide.Runtime(env.provider, duroxide.RuntimeOptions(
        orchestration_concurrency=0, worker_concurrency=0, heartbeat_interval_ms=100,
        worker_name_hint="spare"))
    spare.start()
    worker_id = spare.worker_id
    spare.shutdown(3000)
    assert wait_until(lambda: http.get(f"/v1/workers/{worker_id}").json()["status"] == "stopped",
                      10)
    body = problem(http.post(f"/v1/workers/{worker_id}/drain"), 409, "failed-precondition")
    assert "stopped" in body["detail"]


def _cursor(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def test_bad_cursors_and_out_of_range_integers_are_400_naming_the_parameter(live: Any) -> None:
    _, http, _ = live
    for raw in (b'{"after":"x","created_at":1e400}', b'{"after":"x","created_at":1.5}',
                b'{"after":"x","created_at":99999999999999999999999}', b'{"after":1}',
                b'not json', b'[]'):
        body = problem(http.get("/v1/instances", params={"cursor": _cursor(raw)}), 400,
                       "invalid-argument")
        assert "cursor" in body["detail"]
    huge = str(2**63)
    body = problem(http.get(f"/v1/instances/x/executions/{huge}"), 400, "invalid-argument")
    assert "execution_id" in body["detail"]
    body = problem(http.get(f"/v1/instances/x/executions/{huge}/history"), 400,
                   "invalid-argument")
    assert "execution_id" in body["detail"]
    body = problem(http.post(f"/v1/dead-letters/{huge}/redeliver"), 400, "invalid-argument")
    assert "id" in body["detail"]
    body = problem(http.delete("/v1/dead-letters", params={"before_ms": huge}), 400,
                   "invalid-argument")
    assert "before_ms" in body["detail"]
    body = problem(http.delete("/v1/dead-letters", params={"ids": ["1", huge]}), 400,
                   "invalid-argument")
    assert "ids" in body["detail"]
    body = problem(http.post("/v1/workers/prune", json={"retention_ms": 10**30}), 400,
                   "invalid-argument")
    assert "retention_ms" in body["detail"]
    for params in ({"created_after": huge}, {"updated_before": huge}):
        body = problem(http.get("/v1/instances", params=params), 400, "invalid-argument")
        assert list(params)[0] in body["detail"]
    body = problem(http.get("/v1/instances/x/status", params={"after_version": huge}), 400,
                   "invalid-argument")
    assert "after_version" in body["detail"]
    body = problem(http.post("/v1/instances/x/prune", json={"keep_last": 2**64}), 400,
                   "invalid-argument")
    assert "keep_last" in body["detail"]
    body = problem(http.post(f"/v1/dead-letters/{huge}/redeliver"), 400,
                   "invalid-argument")
    assert "letter_id" in body["detail"]


def test_bad_json_values_and_ids_over_rest(live: Any) -> None:
    _, http, _ = live
    for value in ("NaN", "Infinity", "-Infinity", '{"a": [1, NaN]}'):
        r = http.post("/v1/instances", content=(
            '{"name": "Waiter", "instance_id": "j1", "input": %s}' % value).encode(),
            headers={"content-type": "application/json"})
        body = problem(r, 400, "invalid-argument")
        assert "input" in body["detail"], body
    assert http.get("/v1/instances/j1").status_code == 404
    for bad in ("a\x85b", "x\u2028y", "z\u200bw"):
        body = problem(http.post("/v1/instances", json={"name": "Waiter", "instance_id": bad}),
                       400, "invalid-argument")
        assert "instance_id" in body["detail"]
        problem(http.post("/v1/messages", json={"instance_id": "ok", "queue": bad, "data": 1}),
                400, "invalid-argument")
    problem(http.post("/v1/instances", json={"name": "Waiter", "instance_id": 5}), 400,
            "invalid-argument")


# ---- the OpenAPI document lists every status -----------------------------------------------------


def test_openapi_documents_every_status(live: Any) -> None:
    _, http, _ = live
    spec = http.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in operations.items():
            statuses = set(op["responses"])
            assert {"400", "500", "503"} <= statuses, (method, path, statuses)
            if path != "/v1/health":
                assert {"401", "403"} <= statuses, (method, path, statuses)
            if method in ("post", "delete"):
                assert {"409", "413"} <= statuses, (method, path, statuses)
            if "{" in path:
                assert "404" in statuses, (method, path, statuses)
    assert "504" in spec["paths"]["/v1/requests"]["post"]["responses"]
    assert "404" in spec["paths"]["/v1/requests"]["post"]["responses"]
    assert "409" in spec["paths"]["/v1/workers/{worker_id}/drain"]["post"]["responses"]


# ---- security headers -----------------------------------------------------------------------------


def test_security_headers_on_every_response(tmp_path: Any) -> None:
    client = duroxide.Client(duroxide.SqliteProvider.open(str(tmp_path / "h.db")))
    with LiveServer(client, token="a-token-of-more-than-16", max_body_bytes=4096) as server, \
            httpx.Client(base_url=server.url) as http:
        auth = {"Authorization": "Bearer a-token-of-more-than-16"}
        responses = [http.get("/"), http.get("/app.js"), http.get("/style.css"),
                     http.get("/docs"), http.get("/openapi.json"), http.get("/v1/health"),
                     http.get("/v1/instances"),  # 401
                     http.get("/v1/instances", headers={"Authorization": "Bearer wrong"}),
                     http.get("/v1/instances", headers=auth),
                     http.get("/v1/instances/none", headers=auth),  # 404
                     http.get("/no-such-page"),
                     http.post("/v1/instances", headers=auth, content=b"x" * 10000),  # 413
                     http.post("/v1/instances", headers={**auth, "Origin": "http://evil"},
                               json={})]  # 403
        statuses = {r.status_code for r in responses}
        assert {200, 401, 403, 404, 413} <= statuses
        for r in responses:
            for name, value in HEADERS.items():
                assert r.headers.get(name) == value, (r.url, name, r.headers)
            csp = r.headers["content-security-policy"]
            directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
            assert directives["default-src"] == "'self'"
            assert directives["script-src"] == "'self'"
            assert directives["frame-ancestors"] == "'none'"
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        docs = http.get("/docs").text
        assert "<script>" not in docs and "<script src=" in docs  # no inline script
        for page in ("index.html", "instance.html", "metrics.html", "workers.html",
                     "messaging.html"):
            html = http.get("/" + page).text
            assert "<script>" not in html and " style=" not in html and "onclick" not in html


# ---- the request read deadline --------------------------------------------------------------------


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """True when the server closes `sock` (recv returns b"" or resets) within `seconds`."""
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_half_sent_requests_are_dropped(tmp_path: Any) -> None:
    client = duroxide.Client(duroxide.SqliteProvider.open(str(tmp_path / "t.db")))
    with LiveServer(client, request_read_timeout_s=1.0) as server:
        socks = []
        for i in range(60):
            sock = socket.create_connection(("127.0.0.1", server.port))
            if i % 3 == 0:
                pass  # connects and sends nothing
            elif i % 3 == 1:
                sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # headers not ended
            else:
                sock.sendall(b"POST /v1/instances HTTP/1.1\r\nHost: x\r\nContent-Type: "
                             b"application/json\r\nContent-Length: 100\r\n\r\n{\"name\"")
            socks.append(sock)
        started = time.monotonic()
        assert all(_closed_within(s, 5.0) for s in socks)
        assert time.monotonic() - started < 5.0
        for sock in socks:
            sock.close()
        # A whole request is never cut, even when the answer takes longer than the deadline.
        with httpx.Client(base_url=server.url, timeout=30) as http:
            client.start_orchestration("w", "Nobody", None)
            r = http.get("/v1/instances/w/wait", params={"timeout_ms": 2500})
            assert r.status_code == 504
            for name, value in HEADERS.items():
                assert r.headers[name] == value
            assert http.get("/v1/health").status_code == 200


# ---- token files ------------------------------------------------------------------------------


def _token_file(tmp_path: Path, text: str, mode: int) -> str:
    path = tmp_path / "token"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_token_file_rules(tmp_path: Any, caplog: Any) -> None:
    good = "s3cret-token-0123456789"
    assert read_token_file(_token_file(tmp_path, good + "\n", 0o600)) == good
    path = _token_file(tmp_path, good, 0o666)
    with pytest.raises(duroxide.InvalidArgumentError, match="world-writable") as info:
        read_token_file(path)
    assert path in str(info.value)
    path = _token_file(tmp_path, "x" * (MIN_TOKEN_BYTES - 1), 0o600)
    with pytest.raises(duroxide.InvalidArgumentError, match="shorter than 16") as info:
        read_token_file(path)
    assert path in str(info.value)
    path = _token_file(tmp_path, "  \n", 0o600)
    with pytest.raises(duroxide.InvalidArgumentError, match="empty") as info:
        read_token_file(path)
    assert path in str(info.value)
    missing = str(tmp_path / "missing")
    with pytest.raises(duroxide.InvalidArgumentError) as info:
        read_token_file(missing)
    assert missing in str(info.value)
    path = _token_file(tmp_path, good, 0o644)
    with caplog.at_level(logging.WARNING, logger="duroxide.server"):
        assert read_token_file(path) == good
    assert any("world-readable" in r.getMessage() and path in r.getMessage()
               for r in caplog.records)


def test_server_command_refuses_bad_token_files(tmp_path: Any) -> None:
    db = str(tmp_path / "s.db")
    for text, mode, problem_text in (("short", 0o600, "shorter than 16"),
                                     ("long-enough-token-value", 0o666, "world-writable")):
        path = _token_file(tmp_path, text, mode)
        r = subprocess.run([sys.executable, "-m", "duroxide", "server", "--db", db,
                            "--token-file", path], capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and problem_text in r.stderr and path in r.stderr, r.stderr
        r = subprocess.run([sys.executable, "-m", "duroxide", "--url", "http://127.0.0.1:9",
                            "--token-file", path, "list"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2 and path in r.stderr, r.stderr


# ---- read-only stores ----------------------------------------------------------------------------


def _seed(path: Path) -> None:
    """A store with one instance waiting for an event (an instances row and a history)."""
    provider = duroxide.SqliteProvider.open(str(path))
    client = duroxide.Client(provider)
    rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=10))

    def waits(ctx: Any, _: Any) -> Any:
        value = yield ctx.wait_for_event("e")
        return value

    rt.register_orchestration("Waits", waits)
    rt.start()
    client.start_orchestration("seeded", "Waits", {"n": 1})
    assert wait_until(lambda: client.list_all_instances() == ["seeded"], 10)
    rt.shutdown(3000)
    client.close()
    provider.close()


@pytest.mark.parametrize("how", ["mode=ro", "read-only file"])
def test_read_only_sqlite_store_serves_reads_and_refuses_writes(tmp_path: Any, how: str) -> None:
    path = tmp_path / "ro.db"
    _seed(path)
    if how == "mode=ro":
        url = f"sqlite:///{path}?mode=ro"
    else:
        path.chmod(0o444)  # honoured even for root, who could write it anyway
        url = str(path)
    before = path.read_bytes()
    client = duroxide.Client(duroxide.SqliteProvider.open(url))
    assert client.list_all_instances() == ["seeded"]
    assert client.get_status("seeded").status == "Running"
    for write in (lambda: client.start_orchestration("new", "X", None),
                  lambda: client.raise_event("seeded", "e", 1),
                  lambda: client.send_message("seeded", "q", 1),
                  lambda: client.cancel_instance("seeded"),
                  lambda: client.delete_instance("seeded", force=True)):
        with pytest.raises(duroxide.FailedPreconditionError, match="read-only"):
            write()
    with LiveServer(client) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/v1/instances/seeded").json()["status"] == "Running"
        assert [i["instance_id"] for i in http.get("/v1/instances").json()["items"]] == ["seeded"]
        body = problem(http.post("/v1/instances", json={"name": "X", "instance_id": "n"}), 409,
                       "failed-precondition")
        assert "read-only" in body["detail"]
        problem(http.post("/v1/instances/seeded/events", json={"name": "e", "data": 1}), 409,
                "failed-precondition")
    client.close()
    env_vars = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    r = subprocess.run([sys.executable, "-m", "duroxide", "--db", url, "list"],
                       capture_output=True, text=True, timeout=60, env=env_vars)
    assert r.returncode == 0 and "seeded" in r.stdout, r.stderr
    r = subprocess.run([sys.executable, "-m", "duroxide", "--db", url, "cancel", "seeded"],
                       capture_output=True, text=True, timeout=60, env=env_vars)
    assert r.returncode != 0 and "read-only" in r.stderr, (r.stdout, r.stderr)
    assert path.read_bytes() == before  # nothing was written


def test_read_only_store_must_exist(tmp_path: Any) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(duroxide.StoreError, match="does not exist"):
        duroxide.SqliteProvider.open(f"sqlite://{missing}?mode=ro")
    assert not missing.exists()


def test_native_conversion_errors_never_reach_a_user() -> None:
    """Should a native argument conversion error slip past the client's checks, neither the
    client (InvalidTypeError) nor the server (a 400 problem) shows pybind11's text."""
    from duroxide.server.errors import as_duroxide_error, status_of

    raw = TypeError("get_status(): incompatible function arguments. The following argument "
                    "types are supported:\n    1. (self: _core.Client, arg0: str) -> dict\n\n"
                    "Invoked with: <duroxide._core.Client object at 0x7f00>, b'x'")
    error = as_duroxide_error(raw)
    assert isinstance(error, duroxide.InvalidTypeError) and status_of(type(error)) == 400
    assert "incompatible" not in str(error) and "0x" not in str(error)

    class Native:
        def get_status(self, instance_id: Any) -> Any:
            raise raw

    client = duroxide.Client(duroxide.SqliteProvider.in_memory())
    client._native = Native()
    with pytest.raises(duroxide.InvalidTypeError) as info:
        client.get_status("fine-id")
    assert "incompatible" not in str(info.value) and "get_status" in str(info.value)


def test_read_only_postgres_session_serves_reads_and_refuses_writes(pg_url: str,
                                                                     pg_schema: str) -> None:
    """A PostgreSQL session that is read-only (default_transaction_read_only, as on a hot
    standby) opens an up-to-date schema, serves reads and refuses writes with 409."""
    writer = duroxide.Client(duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema))
    writer.start_orchestration("seeded", "Anything", None)
    ro_url = pg_url + ("&" if "?" in pg_url else "?") + \
        "options=-c%20default_transaction_read_only%3Don"
    reader = duroxide.Client(duroxide.PostgresProvider.connect_with_schema(ro_url, pg_schema))
    assert reader.get_status("seeded").status == "Running"
    with pytest.raises(duroxide.FailedPreconditionError, match="read-only"):
        reader.start_orchestration("new", "X", None)
    with pytest.raises(duroxide.FailedPreconditionError, match="read-only"):
        reader.raise_event("seeded", "e", 1)
    with LiveServer(reader) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/v1/instances/seeded/status").json()["status"] == "Running"
        body = problem(http.post("/v1/instances", json={"name": "X", "instance_id": "n"}), 409,
                       "failed-precondition")
        assert "read-only" in body["detail"]
    assert writer.get_status("new").status == "NotFound"
