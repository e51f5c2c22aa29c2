"""The asyncio clients: `AsyncClient(provider)` and `AsyncHttpClient(url, token=...)`.

Every ClientAPI operation is a coroutine with the same name, arguments and docstring,
generated from ClientAPI (client/api.py), not listed here: `_AsyncTwins.__init_subclass__`
adds, for each `operations()` name a class does not write itself, a coroutine that runs the
synchronous client's method in the shared executor (a few threads; every native call releases
the GIL). The loop is never blocked.

Waiting is different: it must not cost a thread per waiter. AsyncClient's waits are checks on
the waiter registry (aio_waiters.py: one thread woken by the store's change signal, futures
resolved with call_soon_threadsafe), so 10,000 concurrent `await wait_for_orchestration(...)`
cost one thread. AsyncHttpClient's waits are long-polls made with asyncio streams (a socket
each, no thread). `request` (a reply wait) goes through the executor on both: it is bounded by
the executor's size, not free.

`actor(type, key)` is not I/O: it returns an AsyncActorRef at once (send/request/state are
coroutines). `async with` closes a client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import ssl
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, TypeVar

from duroxide.client.aio_actor import AsyncActorRef
from duroxide.client.aio_waiters import WaiterRegistry
from duroxide.client.api import DEFAULT_TIMEOUT_MS, ClientAPI, operations, signature
from duroxide.client.base import check_arguments
from duroxide.client.http import HttpClient, _instance, _status
from duroxide.client.native import Client
from duroxide.client.results import OrchestrationResult
from duroxide.client.transport import MAX_POLL_MS, error_from_problem, path
from duroxide.errors import (
    ClosedError,
    NotFoundError,
    OperationTimedOutError,
    OrchestrationFailedError,
)

__all__ = ["AsyncClient", "AsyncHttpClient", "AsyncActorRef"]

EXECUTOR_THREADS = 8
_executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
_executor_lock = threading.Lock()

# Written by the classes themselves (waits, actor) or not an operation call (closed).
_HAND_WRITTEN = {"closed", "close", "wait_for_orchestration", "wait_for_orchestration_typed",
                 "wait_for_status_change", "wait_for_kv_value", "wait_for_kv_value_typed",
                 "actor"}


def _shared_executor() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                EXECUTOR_THREADS, thread_name_prefix="duroxide-aio")
        return _executor


def _twin(name: str) -> Callable[..., Any]:
    """The coroutine twin of ClientAPI operation `name`."""
    declared = getattr(ClientAPI, name)

    async def operation(self: "_AsyncTwins", *args: Any, **kwargs: Any) -> Any:
        return await self._call(getattr(self._sync, name), *args, **kwargs)

    operation.__name__ = name
    operation.__qualname__ = f"AsyncClient.{name}"
    operation.__doc__ = declared.__doc__
    operation.__signature__ = signature(name)  # type: ignore[attr-defined]
    return operation


_Self = TypeVar("_Self", bound="_AsyncTwins")

if TYPE_CHECKING:  # the generated declaration of the same coroutines (_async_gen.py)
    from duroxide.client._async_api import AsyncClientAPI as _Declared
else:
    _Declared = object


class _AsyncTwins(_Declared):
    """What both async clients share: the generated twins, closing, typed waits, actors."""

    _sync: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in operations():
            if name not in _HAND_WRITTEN and not hasattr(cls, name):
                setattr(cls, name, _twin(name))
        # The generated twins call the synchronous client, which checks their arguments; the
        # hand-written ones (waits) get the same checks here.
        check_arguments(cls, _HAND_WRITTEN)

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._sync.closed:
            raise ClosedError(f"{type(self).__name__} is closed; create a new one")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_shared_executor(),
                                          functools.partial(fn, *args, **kwargs))

    @property
    def closed(self) -> bool:
        return bool(self._sync.closed)

    async def close(self) -> None:
        """Releases the client (later calls raise ClosedError). Idempotent."""
        self._sync.close()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def wait_for_orchestration(self, instance_id: str,
                                     timeout_ms: int = DEFAULT_TIMEOUT_MS) -> OrchestrationResult:
        raise NotImplementedError

    async def wait_for_orchestration_typed(self, instance_id: str,
                                           timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
        result = await self.wait_for_orchestration(instance_id, timeout_ms)
        if result.status == "Failed":
            error = result.error or "Orchestration failed"
            raise OrchestrationFailedError(error, instance_id=instance_id, error=error)
        return result.output

    async def wait_for_kv_value(self, instance_id: str, key: str,
                                timeout_ms: int = DEFAULT_TIMEOUT_MS) -> str:
        raise NotImplementedError

    async def wait_for_kv_value_typed(self, instance_id: str, key: str,
                                      timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
        return json.loads(await self.wait_for_kv_value(instance_id, key, timeout_ms))

    def actor(self, actor_type: str, key: str) -> "AsyncActorRef":
        return AsyncActorRef(self, actor_type, key)


def _kv_timeout(instance_id: str, key: str) -> OperationTimedOutError:
    return OperationTimedOutError(
        f"Timed out waiting for value '{key}' on instance '{instance_id}'")


class AsyncClient(_AsyncTwins):
    """ClientAPI as coroutines, in process, on a provider (see the module docstring)."""

    def __init__(self, provider: Any, *, max_payload_bytes: Optional[int] = None) -> None:
        self._sync = Client(provider, max_payload_bytes=max_payload_bytes)
        self._waiters = WaiterRegistry(self._sync._store, _shared_executor())

    async def close(self) -> None:
        self._waiters.close()
        self._sync.close()

    async def _wait(self, instance_id: str, check: Callable[[], Any], timeout_ms: int) -> Any:
        if self._sync.closed:
            raise ClosedError("AsyncClient is closed; create a new one")
        return await self._waiters.wait(instance_id, check, int(timeout_ms) / 1000.0)

    async def wait_for_orchestration(self, instance_id: str,
                                     timeout_ms: int = DEFAULT_TIMEOUT_MS) -> OrchestrationResult:
        def check() -> Optional[OrchestrationResult]:
            status: OrchestrationResult = self._sync.get_status(instance_id)
            return status if status.status in ("Completed", "Failed") else None

        try:
            result: OrchestrationResult = await self._wait(instance_id, check, timeout_ms)
        except asyncio.TimeoutError:
            raise OperationTimedOutError("Operation timed out") from None
        return result

    async def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                                     poll_interval_ms: int = 200,
                                     timeout_ms: int = DEFAULT_TIMEOUT_MS
                                     ) -> Optional[OrchestrationResult]:
        # poll_interval_ms: the registry's sweep bounds how often other processes' writes are
        # looked for; this process's writes wake the wait at once.
        def check() -> Optional[OrchestrationResult]:
            status: OrchestrationResult = self._sync.get_status(instance_id)
            if status.custom_status_version > last_seen_version or \
                    status.status in ("Completed", "Failed"):
                return status
            return None

        try:
            changed: OrchestrationResult = await self._wait(instance_id, check, timeout_ms)
        except asyncio.TimeoutError:
            return None
        return changed

    async def wait_for_kv_value(self, instance_id: str, key: str,
                                timeout_ms: int = DEFAULT_TIMEOUT_MS) -> str:
        try:
            value = await self._wait(instance_id, lambda: self._sync.get_kv_value(instance_id, key),
                                     timeout_ms)
        except asyncio.TimeoutError:
            raise _kv_timeout(instance_id, key) from None
        return str(value)


class _StreamPoll:
    """Long-poll GETs over asyncio streams (one connection each, no thread)."""

    def __init__(self, url: str, token: Optional[str], timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._auth = f"Authorization: Bearer {token}\r\n" if token else ""

    async def get(self, target: str, query: Dict[str, Any], wait_ms: int) -> Tuple[int, Any]:
        pairs = {k: ("true" if v is True else "false" if v is False else v)
                 for k, v in query.items() if v is not None}
        target = self._prefix + target + "?" + urllib.parse.urlencode(pairs)
        head = (f"GET {target} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n"
                f"Accept: application/json\r\nConnection: close\r\n{self._auth}\r\n")
        timeout_s = self._timeout_s + wait_ms / 1000.0
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                self._host, self._port, ssl=ssl.create_default_context() if self._https else None),
                self._timeout_s)
            try:
                writer.write(head.encode())
                await writer.drain()
                raw = await asyncio.wait_for(reader.read(), timeout_s)
            finally:
                writer.close()
        except asyncio.TimeoutError:
            raise OperationTimedOutError(
                f"no answer from {self.url} within {timeout_s:.0f} s") from None
        except OSError as exc:
            from duroxide.errors import ProviderError
            raise ProviderError(f"cannot reach {self.url}: {exc}") from None
        status, data = _parse_response(raw)
        if status >= 400:
            raise error_from_problem(status, data, self.url)
        return status, data

    async def long_poll(self, target: str, timeout_ms: int, timeout_message: str,
                        query: Optional[Dict[str, Any]] = None) -> Any:
        """Transport.long_poll's contract (slices of MAX_POLL_MS; 404 = not there yet)."""
        deadline = time.monotonic() + max(0, int(timeout_ms)) / 1000.0
        pause = 0.005
        while True:
            slice_ms = max(0, min(int((deadline - time.monotonic()) * 1000), MAX_POLL_MS))
            try:
                return (await self.get(target, {**(query or {}), "timeout_ms": slice_ms},
                                       slice_ms))[1]
            except OperationTimedOutError:
                if time.monotonic() >= deadline:
                    raise OperationTimedOutError(timeout_message) from None
            except NotFoundError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OperationTimedOutError(timeout_message) from None
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, 0.1)


def _parse_response(raw: bytes) -> Tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    try:
        return status, (json.loads(body) if body else None)
    except ValueError:
        return status, None


def _unchunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_text, _, rest = body.partition(b"\r\n")
        size = int(size_text.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return bytes(out)


class AsyncHttpClient(_AsyncTwins):
    """ClientAPI as coroutines, over the REST API of `duroxide server`."""

    def __init__(self, url: str, token: Optional[str] = None, timeout_s: float = 30.0) -> None:
        self._sync = HttpClient(url, token, timeout_s)
        self.url = self._sync.url
        self._poll = _StreamPoll(self.url, token, timeout_s)

    def _check_open(self) -> None:
        if self._sync.closed:
            raise ClosedError("AsyncHttpClient is closed; create a new one")

    async def wait_for_orchestration(self, instance_id: str,
                                     timeout_ms: int = DEFAULT_TIMEOUT_MS) -> OrchestrationResult:
        self._check_open()
        return _status(await self._poll.long_poll(_instance(instance_id, "wait"), timeout_ms,
                                                  "Operation timed out"))

    async def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                                     poll_interval_ms: int = 200,
                                     timeout_ms: int = DEFAULT_TIMEOUT_MS
                                     ) -> Optional[OrchestrationResult]:
        self._check_open()
        try:
            data = await self._poll.long_poll(_instance(instance_id, "status"), timeout_ms,
                                              "Operation timed out",
                                              {"after_version": int(last_seen_version)})
        except OperationTimedOutError:
            return None
        return _status(data)

    async def wait_for_kv_value(self, instance_id: str, key: str,
                                timeout_ms: int = DEFAULT_TIMEOUT_MS) -> str:
        self._check_open()
        data = await self._poll.long_poll(
            path("instances", "{}", "kv", "{}", ids=(instance_id, key)), timeout_ms,
            f"Timed out waiting for value '{key}' on instance '{instance_id}'", {"wait": True})
        return str(data["value"])
