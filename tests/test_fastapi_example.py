"""examples/fastapi_app.py through a real uvicorn and an HTTP client: endpoints start
workflows and await their results with AsyncClient, the runtime in the same process."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

pytest.importorskip("fastapi")
import uvicorn  # noqa: E402

import duroxide  # noqa: E402
from helpers.live_server import free_port  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import fastapi_app  # noqa: E402


def call(url: str, method: str = "GET", body: Optional[Dict[str, Any]] = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def server(tmp_path: Path) -> Any:
    provider = duroxide.SqliteProvider.open(str(tmp_path / "orders.db"))
    port = free_port()
    config = uvicorn.Config(fastapi_app.create_app(provider), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(15)
    assert not thread.is_alive()
    provider.close()


def test_orders_start_and_await_results_over_http(server: str) -> None:
    done = call(f"{server}/orders?wait_ms=10000", "POST", {"items": ["apple", "pear"]})
    assert done["status"] == "Completed" and done["output"]["total"] == 1.25, done

    failed = call(f"{server}/orders?wait_ms=10000", "POST", {"items": ["durian"]})
    assert failed["status"] == "Failed" and "unknown item 'durian'" in failed["error"]

    pending = call(f"{server}/orders", "POST", {"items": ["fig"], "approve": False})
    order_id = pending["id"]
    waiting = call(f"{server}/orders/{order_id}?wait_ms=300")
    assert waiting["status"] == "Running"
    # many requests wait on the same order at once: none of them holds a thread
    with ThreadPoolExecutor(20) as pool:
        waiters = [pool.submit(call, f"{server}/orders/{order_id}?wait_ms=20000")
                   for _ in range(20)]
        time.sleep(0.3)
        call(f"{server}/orders/{order_id}/approve", "POST")
        outcomes = [w.result() for w in waiters]
    assert all(o["status"] == "Completed" and o["output"]["total"] == 2.0 for o in outcomes)
