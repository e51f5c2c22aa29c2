"""HttpClient's transport: keep-alive connections, JSON requests, long-polls and errors.

Standard library only: one keep-alive connection per thread. An error response (an RFC 9457
problem document, docs/server.md) becomes the duroxide exception whose `code` its `type`
names (`urn:duroxide:problem:<code>`), so HttpClient raises what Client raises.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from duroxide import errors
from duroxide._common import quote_id

PROBLEM_TYPE_PREFIX = "urn:duroxide:problem:"
# Long-polls are cut into requests of at most this long, so proxies with idle timeouts of a
# minute or more never cut one.
MAX_POLL_MS = 50_000


def path(*parts: str, ids: Tuple[str, ...] = ()) -> str:
    """"/v1/" + parts joined by "/", with each of `ids` (in order) filling a "{}" part as one
    ~XX-escaped segment: path("instances", "{}", "status", ids=("a/b",))."""
    values = iter(ids)
    return "/v1/" + "/".join(quote_id(next(values)) if p == "{}" else p for p in parts)


def error_from_problem(status: int, data: Any, url: str) -> errors.DuroxideError:
    """The exception a problem document stands for: the class with the code in its `type`;
    DuroxideError for anything else (an unknown code, 401/403, a non-problem answer)."""
    problem = data if isinstance(data, dict) else {}
    detail = str(problem.get("detail") or f"HTTP {status}")
    kind = str(problem.get("type") or "")
    code = kind[len(PROBLEM_TYPE_PREFIX):] if kind.startswith(PROBLEM_TYPE_PREFIX) else None
    cls = errors.error_class(code)
    if cls is errors.DuroxideError:
        return errors.DuroxideError(f"HTTP {status} from {url}: {detail}")
    return cls.from_message(detail)


class Transport:
    """Requests to one server; each thread has its own keep-alive connection."""

    def __init__(self, url: str, token: Optional[str], timeout_s: float) -> None:
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
        self.closed = False
        self._lock = threading.Lock()
        self._open: List[http.client.HTTPConnection] = []  # every thread's, for close()

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

    def close(self) -> None:
        """Closes the connections of every thread; later requests raise ClosedError."""
        self.closed = True
        with self._lock:
            connections, self._open = self._open, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def request(self, method: str, target: str, body: Any = None,
                query: Optional[Dict[str, Any]] = None, wait_ms: int = 0) -> Tuple[int, Any]:
        """(status, parsed JSON body) of a successful request; raises for an error status.

        `query` values that are None are left out; lists repeat the parameter.
        """
        if self.closed:
            raise errors.ClosedError("HttpClient is closed; create a new one")
        if query:
            pairs = {k: ("true" if v is True else "false" if v is False else v)
                     for k, v in query.items() if v is not None}
            target += "?" + urllib.parse.urlencode(pairs, doseq=True)
        payload = None if body is None else json.dumps(body).encode()
        timeout_s = self._timeout_s + wait_ms / 1000.0
        for attempt in (1, 2):
            conn = self._connection(timeout_s)
            try:
                conn.request(method, self._prefix + target, body=payload, headers=self._headers)
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
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None  # not JSON (e.g. a proxy's error page): the status tells
        if response.status >= 400:
            raise error_from_problem(response.status, data, self.url)
        return response.status, data

    def long_poll(self, target: str, timeout_ms: int, timeout_message: str,
                  query: Optional[Dict[str, Any]] = None) -> Any:
        """Repeats a long-poll GET in slices of at most MAX_POLL_MS until `timeout_ms`.

        The server answers 404 for an instance that does not exist (yet); like Client, this
        keeps waiting for it to appear until the time is up, then raises
        OperationTimedOutError(timeout_message).
        """
        deadline = time.monotonic() + max(0, int(timeout_ms)) / 1000.0
        pause = 0.005
        while True:
            slice_ms = max(0, min(int((deadline - time.monotonic()) * 1000), MAX_POLL_MS))
            try:
                return self.request("GET", target, query={**(query or {}),
                                                          "timeout_ms": slice_ms},
                                    wait_ms=slice_ms)[1]
            except errors.OperationTimedOutError:
                if time.monotonic() >= deadline:
                    raise errors.OperationTimedOutError(timeout_message) from None
            except errors.NotFoundError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise errors.OperationTimedOutError(timeout_message) from None
                time.sleep(min(pause, left))
                pause = min(pause * 2, 0.1)
