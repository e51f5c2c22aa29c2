"""A real uvicorn server on a free loopback port, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Optional

import uvicorn
from duroxide.server import ServerSettings, create_app
from duroxide.server.hardening import uvicorn_config


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """Serves create_app(client, settings) until stop(); `url` is its base URL."""

    def __init__(self, client: Any, token: Optional[str] = None, **settings: Any):
        self.port = free_port()
        self.settings = ServerSettings(host="127.0.0.1", port=self.port, token=token,
                                       **{"metrics_interval_s": 0.5, "wait_slice_ms": 200,
                                          **settings})
        self.app = create_app(client, self.settings)
        # The configuration `duroxide server` runs with (read deadline, keep-alive, headers).
        config = uvicorn_config(self.app, "127.0.0.1", self.port,
                                read_timeout_s=self.settings.request_read_timeout_s,
                                log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class FeatureClient:
    """Wraps a Client and adds stand-ins for the methods that messaging, the worker fleet and
    task graphs add to Client, so the server's optional routers and dashboard pages can be
    tested before those features are present."""

    def __init__(self, client: Any):
        self._client = client
        self.drained: list = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_graph(self, instance_id: str) -> dict:
        nodes = [
            {"id": 0, "task": "fetch", "status": "completed", "deps": []},
            {"id": 1, "task": "parse", "status": "completed", "deps": [0]},
            {"id": 2, "task": "score", "status": "failed", "deps": [0], "error": "boom"},
            {"id": 3, "task": "report", "status": "skipped", "deps": [1, 2]},
        ]
        return {"instance_id": instance_id, "nodes": nodes,
                "edges": [(d, n["id"]) for n in nodes for d in n["deps"]]}

    def list_workers(self) -> list:
        return [{"worker_id": "amber-otter-1", "name": "amber-otter-1", "host": "node-a",
                 "status": "active", "load": {"turns_in_flight": 3}, "capacity": 8,
                 "last_heartbeat_ms": 1_796_000_000_000},
                {"worker_id": "brisk-heron-2", "name": "brisk-heron-2", "host": "node-b",
                 "status": "draining", "load": {"turns_in_flight": 0}, "capacity": 8,
                 "last_heartbeat_ms": 1_796_000_000_500}]

    def get_worker(self, worker_id: str) -> Any:
        return next((w for w in self.list_workers() if w["worker_id"] == worker_id), None)

    def drain_worker(self, worker_id: str) -> None:
        self.drained.append(worker_id)

    def send_message(self, instance_id: str, queue: str, data: Any = None) -> str:
        self._client.enqueue_event(instance_id, queue, data)
        return f"msg-{instance_id}-{queue}"

    def publish_event(self, topic: str, data: Any = None) -> int:
        return 7

    def list_topics(self) -> list:
        return [{"topic": "orders", "subscribers": 2, "backlog": 1, "last_seq": 7}]

    def list_dead_letters(self, instance_id: Any = None) -> list:
        return [{"id": 1, "instance_id": "gone-1", "queue": "inbox", "data": {"x": 1},
                 "reason": "instance not found", "created_at_ms": 1_796_000_000_000}]
