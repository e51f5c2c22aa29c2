"""HttpClient: the Client API over the REST API of `duroxide server` (docs/server.md).

Same methods, return types and exceptions as Client for everything the API covers, so a
program can drive a remote fleet without store credentials. Standard library only: one
keep-alive connection per thread.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from duroxide import _core, errors
from duroxide._common import check_json
from duroxide.client._fleet import WorkerInfo
from duroxide.client._messaging import (
    ActorInfo,
    DeadLetter,
    TopicDetail,
    TopicInfo,
    TopicSubscriber,
)
from duroxide.client.results import OrchestrationResult

# Long-polls are cut into requests of at most this long, so proxies with idle timeouts of a
# minute or more never cut one.
_MAX_POLL_MS = 50_000
_EXCEPTIONS: Dict[str, type[Exception]] = {name: getattr(errors, name) for name in errors.__all__}
_EXCEPTIONS["TimeoutError"] = errors.OperationTimedOutError  # a TimeoutError too



def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


class HttpClient:
    """A Client that talks to a duroxide server.

    Args:
        url: the server, e.g. "http://host:8200" (http or https).
        token: the bearer token, when the server has one.
        timeout_s: socket timeout of ordinary requests (long-polls add their own wait).
    """

    def __init__(self, url: str, token: Optional[str] = None, timeout_s: float = 30.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.InvalidArgumentError(
                f"HttpClient: url must look like http://host:8200, got {url!r}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._local = threading.local()
        self._closed = False
        self._lock = threading.Lock()
        self._open: List[http.client.HTTPConnection] = []  # every thread's, for close()

    # ---- transport ----------------------------------------------------------------------------

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=timeout_s)
            self._local.conn = conn
            with self._lock:
                self._open.append(conn)
        conn.timeout = timeout_s
        if conn.sock is not None:
            conn.sock.settimeout(timeout_s)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            with self._lock:
                if conn in self._open:
                    self._open.remove(conn)

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def close(self) -> None:
        """Closes the connections of every thread; later calls raise ClosedError (as Client)."""
        self._closed = True
        with self._lock:
            connections, self._open = self._open, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def _request(self, method: str, path: str, body: Any = None,
                 query: Optional[Dict[str, Any]] = None, wait_ms: int = 0) -> Tuple[int, Any]:
        """(status, parsed JSON body) of a successful request; raises for an error status."""
        if self._closed:
            raise errors.ClosedError("HttpClient is closed; create a new one")
        if query:
            pairs = {k: ("true" if v is True else "false" if v is False else v)
                     for k, v in query.items() if v is not None}
            path += "?" + urllib.parse.urlencode(pairs)
        payload = None if body is None else json.dumps(body).encode()
        timeout_s = self._timeout_s + wait_ms / 1000.0
        for attempt in (1, 2):
            conn = self._connection(timeout_s)
            try:
                conn.request(method, self._prefix + path, body=payload, headers=self._headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop_connection()  # a kept-alive connection the server closed: retry once
                if attempt == 2:
                    raise errors.ProviderError(f"cannot reach {self.url}: {exc}") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if isinstance(exc, socket.timeout):
                    raise errors.OperationTimedOutError(
                        f"no answer from {self.url} within {timeout_s:.0f} s") from None
                raise errors.ProviderError(f"cannot reach {self.url}: {exc}") from None
        if response.getheader("Connection", "").lower() == "close":
            self._drop_connection()
        data = json.loads(raw) if raw else None
        if response.status >= 400:
            raise self._error(response.status, data)
        return response.status, data

    def _error(self, status: int, data: Any) -> BaseException:
        detail = data.get("detail") if isinstance(data, dict) else None
        name = data.get("error") if isinstance(data, dict) else None
        message = str(detail or f"HTTP {status}")
        error: BaseException
        cls = _EXCEPTIONS.get(name) if isinstance(name, str) else None
        if cls is None and isinstance(name, str):  # any other class duroxide exports
            exported = getattr(sys.modules.get("duroxide"), name, None)
            if isinstance(exported, type) and issubclass(exported, errors.DuroxideError):
                cls = exported
        if status in (401, 403) or cls is None:
            error = errors.DuroxideError(f"HTTP {status} from {self.url}: {message}")
        else:
            error = cls(message)
        return error

    def _get(self, path: str, **query: Any) -> Any:
        return self._request("GET", path, query=query)[1]

    @staticmethod
    def _status(data: Dict[str, Any]) -> OrchestrationResult:
        return OrchestrationResult(data["status"], data.get("output"), data.get("error"),
                                   data.get("custom_status"), data.get("custom_status_version", 0))

    # ---- Client: start, status, events --------------------------------------------------------

    def start_orchestration(self, instance_id: str, name: str, input: Any = None) -> None:
        """Starts `name` as `instance_id`; InstanceAlreadyExistsError if the id is taken."""
        self._start(instance_id, name, check_json(input, "start_orchestration input"), None)

    def start_orchestration_versioned(self, instance_id: str, name: str, input: Any,
                                      version: str) -> None:
        self._start(instance_id, name,
                    check_json(input, "start_orchestration_versioned input"), version)

    start_orchestration_typed = start_orchestration
    start_orchestration_versioned_typed = start_orchestration_versioned

    def _start(self, instance_id: str, name: str, input: Any, version: Optional[str]) -> None:
        if not instance_id:
            raise errors.InvalidArgumentError(
                "start_orchestration: Invalid input: instance id is empty")
        if not name:
            raise errors.InvalidArgumentError(
                "start_orchestration: Invalid input: orchestration name is empty")
        body: Dict[str, Any] = {"instance_id": instance_id, "name": name, "input": input}
        if version is not None:
            body["version"] = version
        self._request("POST", "/v1/instances", body)

    def get_status(self, instance_id: str) -> OrchestrationResult:
        """The current status ("NotFound" for an unknown id)."""
        try:
            return self._status(self._get(f"/v1/instances/{_q(instance_id)}/status"))
        except errors.NotFoundError:
            return OrchestrationResult("NotFound")

    def _long_poll(self, path: str, timeout_ms: int, timeout_message: str = "",
                   **query: Any) -> Any:
        """Repeats a long-poll in slices of at most _MAX_POLL_MS until `timeout_ms`.

        The server answers 404 for an instance that does not exist (yet); like Client, this
        keeps waiting for it to appear until the time is up.
        """
        deadline = time.monotonic() + max(0, int(timeout_ms)) / 1000.0
        pause = 0.005
        while True:
            slice_ms = max(0, min(int((deadline - time.monotonic()) * 1000), _MAX_POLL_MS))
            try:
                return self._request("GET", path, query={**query, "timeout_ms": slice_ms},
                                     wait_ms=slice_ms)[1]
            except errors.OperationTimedOutError:
                if time.monotonic() >= deadline:
                    raise
            except errors.NotFoundError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise errors.OperationTimedOutError(
                        timeout_message or "Operation timed out") from None
                time.sleep(min(pause, left))
                pause = min(pause * 2, 0.1)

    def wait_for_orchestration(self, instance_id: str,
                               timeout_ms: int = 30000) -> OrchestrationResult:
        """Waits until Completed or Failed; OperationTimedOutError after timeout_ms."""
        data = self._long_poll(f"/v1/instances/{_q(instance_id)}/wait", timeout_ms)
        return self._status(data)

    def wait_for_orchestration_typed(self, instance_id: str, timeout_ms: int = 30000) -> Any:
        result = self.wait_for_orchestration(instance_id, timeout_ms)
        if result.status == "Failed":
            raise errors.OrchestrationFailedError(result.error or "Orchestration failed")
        return result.output

    def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                               poll_interval_ms: int = 200,
                               timeout_ms: int = 30000) -> Optional[OrchestrationResult]:
        """Waits until custom_status_version > last_seen_version or the instance ends; None
        on timeout. (`poll_interval_ms` is the server's business here.)"""
        try:
            data = self._long_poll(f"/v1/instances/{_q(instance_id)}/status", timeout_ms,
                                   after_version=int(last_seen_version))
        except errors.OperationTimedOutError:
            return None
        return self._status(data)

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Delivers `data` to wait_for_event(event_name). Like Client, a message for an
        unknown or finished instance is dropped without an error."""
        body = {"name": event_name, "data": check_json(data, "raise_event data")}
        self._send(f"/v1/instances/{_q(instance_id)}/events", body)

    def enqueue_event(self, instance_id: str, queue_name: str, data: Any = None) -> None:
        """Appends `data` to the event queue `queue_name` (dropped like raise_event)."""
        body = {"data": check_json(data, "enqueue_event data")}
        self._send(f"/v1/instances/{_q(instance_id)}/queues/{_q(queue_name)}", body)

    raise_event_typed = raise_event
    enqueue_event_typed = enqueue_event

    def _send(self, path: str, body: Dict[str, Any]) -> None:
        try:
            self._request("POST", path, body)
        except (errors.NotFoundError, errors.ProviderError) as exc:
            if isinstance(exc, errors.NotFoundError) or "would be dropped" in str(exc):
                return  # Client drops such a message silently too
            raise

    def cancel_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        """Cancels a running instance (nothing happens for an unknown or finished one)."""
        body = {"reason": None if reason is None else str(reason)}
        try:
            self._request("POST", f"/v1/instances/{_q(instance_id)}/cancel", body)
        except errors.NotFoundError:
            return

    # ---- Client: KV -----------------------------------------------------------------------------

    def get_kv_value(self, instance_id: str, key: str) -> Optional[str]:
        try:
            data = self._get(f"/v1/instances/{_q(instance_id)}/kv/{_q(key)}")
        except errors.NotFoundError:
            return None
        value: str = data["value"]
        return value

    def get_kv_value_typed(self, instance_id: str, key: str) -> Any:
        raw = self.get_kv_value(instance_id, key)
        return None if raw is None else json.loads(raw)

    def wait_for_kv_value(self, instance_id: str, key: str, timeout_ms: int = 30000) -> str:
        """Waits until the key exists; TimeoutError after timeout_ms."""
        data = self._long_poll(
            f"/v1/instances/{_q(instance_id)}/kv/{_q(key)}", timeout_ms,
            f"Timed out waiting for value '{key}' on instance '{instance_id}'", wait=True)
        value: str = data["value"]
        return value

    def wait_for_kv_value_typed(self, instance_id: str, key: str, timeout_ms: int = 30000) -> Any:
        return json.loads(self.wait_for_kv_value(instance_id, key, timeout_ms))

    def get_kv_all(self, instance_id: str) -> Dict[str, str]:
        try:
            data = self._get(f"/v1/instances/{_q(instance_id)}/kv")
        except errors.NotFoundError:
            return {}
        values: Dict[str, str] = data["values"]
        return values

    # ---- management -----------------------------------------------------------------------------

    def _list_ids(self, status: Optional[str]) -> List[str]:
        ids: List[str] = []
        cursor = None
        while True:
            page = self._get("/v1/instances", status=status, limit=1000, cursor=cursor)
            ids += [item["instance_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    def list_all_instances(self) -> List[str]:
        """Ids of every instance, newest first."""
        return self._list_ids(None)

    def list_instances_by_status(self, status: str) -> List[str]:
        """Ids of the instances whose current execution has `status`, newest first."""
        if status not in ("Running", "Completed", "Failed", "ContinuedAsNew"):
            return []  # Client: anything else matches nothing
        return self._list_ids(status)

    def get_instance_info(self, instance_id: str) -> Any:
        """InstanceInfo; NotFoundError for an unknown (or not yet started) instance."""
        data = self._get(f"/v1/instances/{_q(instance_id)}")
        if data["status"] == "Pending":
            raise errors.NotFoundError(f"Instance {instance_id} not found")
        info = _core.InstanceInfo()
        for name in ("instance_id", "orchestration_name", "orchestration_version",
                     "current_execution_id", "status", "created_at", "updated_at",
                     "parent_instance_id"):
            setattr(info, name, data[name])
        info.output = data["stored_output"]
        return info

    def get_execution_info(self, instance_id: str, execution_id: int) -> Any:
        data = self._get(f"/v1/instances/{_q(instance_id)}/executions/{int(execution_id)}")
        return self._execution(data)

    @staticmethod
    def _execution(data: Dict[str, Any]) -> Any:
        info = _core.ExecutionInfo()
        for name, value in data.items():
            setattr(info, name, value)
        return info

    def list_executions(self, instance_id: str) -> List[int]:
        """Ascending execution ids ([] for an unknown instance)."""
        try:
            data = self._get(f"/v1/instances/{_q(instance_id)}")
        except errors.NotFoundError:
            return []
        executions: List[int] = data["executions"]
        return executions

    def read_execution_history(self, instance_id: str, execution_id: int) -> List[Any]:
        data = self._get(
            f"/v1/instances/{_q(instance_id)}/executions/{int(execution_id)}/history")
        return [_core.Event(**event) for event in data]

    def get_instance_tree(self, instance_id: str) -> Any:
        data = self._get(f"/v1/instances/{_q(instance_id)}/tree")
        return _core.InstanceTree(root_id=data["root_id"], all_ids=data["all_ids"])

    def delete_instance(self, instance_id: str, force: bool = False) -> Any:
        data = self._request("DELETE", f"/v1/instances/{_q(instance_id)}",
                             query={"force": bool(force)})[1]
        return _core.DeleteInstanceResult(**data)

    @staticmethod
    def _filter(filter: Any) -> Dict[str, Any]:
        if filter is None:
            return {}
        ids = filter.instance_ids
        return {"instance_ids": None if ids is None else list(ids),
                "completed_before": filter.completed_before, "limit": filter.limit}

    @staticmethod
    def _options(options: Any) -> Dict[str, Any]:
        if options is None:
            return {}
        return {"keep_last": options.keep_last, "completed_before": options.completed_before}

    def delete_instance_bulk(self, filter: Any = None) -> Any:
        data = self._request("POST", "/v1/instances/bulk-delete", self._filter(filter))[1]
        return _core.DeleteInstanceResult(**data)

    def prune_executions(self, instance_id: str, options: Any = None) -> Any:
        data = self._request("POST", f"/v1/instances/{_q(instance_id)}/prune",
                             self._options(options))[1]
        return _core.PruneResult(**data)

    def prune_executions_bulk(self, filter: Any = None, options: Any = None) -> Any:
        body = {"filter": self._filter(filter), "options": self._options(options)}
        data = self._request("POST", "/v1/instances/bulk-prune", body)[1]
        return _core.PruneResult(**data)

    def get_system_metrics(self) -> Any:
        return _core.SystemMetrics(**self._get("/v1/metrics")["system"])

    def get_queue_depths(self) -> Any:
        return _core.QueueDepths(**self._get("/v1/queues"))

    def get_orchestration_stats(self, instance_id: str) -> Any:
        """SystemStats, or None for an unknown instance."""
        try:
            return _core.SystemStats(**self._get(f"/v1/instances/{_q(instance_id)}/stats"))
        except errors.NotFoundError:
            return None

    # ---- messaging (the server's /v1/messages, /v1/topics, /v1/requests, /v1/dead-letters) --

    def send_message(self, instance_id: str, queue: str, data: Any = None) -> str:
        """Sends `data` to `instance_id`'s queue `queue`; returns the message id."""
        body = {"instance_id": instance_id, "queue": queue,
                "data": check_json(data, "send_message data")}
        message_id: str = self._request("POST", "/v1/messages", body)[1]["message_id"]
        return message_id

    def publish_event(self, topic: str, data: Any = None) -> int:
        """Publishes `data` to `topic`; returns its sequence number."""
        body = {"data": check_json(data, "publish_event data")}
        return int(self._request("POST", f"/v1/topics/{_q(topic)}/events", body)[1]["seq"])

    def request(self, instance_id: str, operation: str, data: Any = None,
                timeout_ms: int = 30000) -> Any:
        """Sends a request and waits for the reply (RequestFailedError, RequestTimedOutError)."""
        body = {"instance_id": instance_id, "operation": operation,
                "data": check_json(data, "request data"), "timeout_ms": int(timeout_ms)}
        return self._request("POST", "/v1/requests", body, wait_ms=int(timeout_ms))[1]["value"]

    def list_dead_letters(self, instance_id: Optional[str] = None) -> List[Any]:
        rows = self._get("/v1/dead-letters", instance_id=instance_id)
        return [DeadLetter(r["id"], r["instance_id"], r["queue"], r.get("data"), r["reason"],
                           r.get("created_at_ms", 0), r.get("sender"), r.get("message_id"))
                for r in rows]

    def redeliver_dead_letter(self, id: int) -> None:
        self._request("POST", f"/v1/dead-letters/{int(id)}/redeliver")

    def purge_dead_letters(self, instance_id: Optional[str] = None,
                           before_ms: Optional[int] = None) -> int:
        query = {"instance_id": instance_id, "before_ms": before_ms}
        return int(self._request("DELETE", "/v1/dead-letters", query=query)[1]["purged"])

    def list_topics(self) -> List[Any]:
        return [TopicInfo(t["topic"], t["subscribers"], t["backlog"], t["last_seq"])
                for t in self._get("/v1/topics")]

    def get_topic(self, topic: str) -> Any:
        t = self._get(f"/v1/topics/{_q(topic)}")
        subscribers = [TopicSubscriber(s["instance_id"], s["cursor"], s["lag"],
                                       s["subscribed_at_ms"]) for s in t["subscribers"]]
        return TopicDetail(t["topic"], subscribers, t["backlog"], t["last_seq"])

    def list_actors(self, actor_type: Optional[str] = None) -> List[Any]:
        return [ActorInfo(a["actor_type"], a["key"], a["instance_id"], a["status"])
                for a in self._get("/v1/actors", actor_type=actor_type)]

    # ---- worker fleet and task graphs (/v1/workers, /v1/instances/{id}/graph) --------------

    @staticmethod
    def _worker(data: Dict[str, Any]) -> Any:
        raw = dict(data)
        load = dict(raw.get("load") or {})
        for name in ("capacity", "serves", "tags", "capabilities", "session_owners"):
            raw[name] = json.dumps(raw.get(name))
        raw["load"] = json.dumps(load)
        raw["now_ms"] = int(raw["last_heartbeat_ms"]) + int(raw.get("last_seen_ms_ago") or 0)
        return WorkerInfo(raw)

    def list_workers(self) -> List[Any]:
        """Every registered worker (WorkerInfo), as Client.list_workers."""
        return [self._worker(w) for w in self._get("/v1/workers")]

    def get_worker(self, name_or_id: str) -> Any:
        """The worker with this name or id; NotFoundError if there is none."""
        return self._worker(self._get(f"/v1/workers/{_q(name_or_id)}"))

    def drain_worker(self, name_or_id: str) -> Any:
        """Asks a worker to drain; returns its record."""
        self._request("POST", f"/v1/workers/{_q(name_or_id)}/drain")
        return self.get_worker(name_or_id)

    def get_graph(self, instance_id: str) -> Dict[str, Any]:
        """The task graph of an instance ({"instance_id", "nodes", "edges"}), as Client."""
        try:
            data: Dict[str, Any] = self._get(f"/v1/instances/{_q(instance_id)}/graph")
        except errors.NotFoundError as exc:
            if "not a task graph" not in str(exc):
                raise
            return {"instance_id": instance_id, "nodes": [], "edges": []}
        data["edges"] = [tuple(edge) for edge in data["edges"]]
        return data
