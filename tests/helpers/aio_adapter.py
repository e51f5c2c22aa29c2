"""SyncOverAsync: drives an asyncio client from synchronous test code.

The client's coroutines run on an event loop owned by the adapter (its own thread); each call
waits for its result. Used by tests/test_client_parity.py to run the one behavioural suite on
AsyncClient and AsyncHttpClient too.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, Callable


class _Wrapped:
    """An object whose coroutine methods are awaited on the adapter's loop (an actor ref)."""

    def __init__(self, adapter: "SyncOverAsync", wrapped: Any) -> None:
        self.wrapped = wrapped
        self._adapter = adapter

    def __getattr__(self, name: str) -> Any:
        return self._adapter._wrap(getattr(self.wrapped, name))


class SyncOverAsync:
    def __init__(self, make: Callable[[], Any]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def create() -> Any:
            return make()

        self.wrapped = self._run(create())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _wrap(self, attr: Any) -> Any:
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if inspect.iscoroutine(result):
                return self._run(result)
            if hasattr(result, "_client") and hasattr(result, "instance_id"):
                return _Wrapped(self, result)
            return result
        return call

    def __getattr__(self, name: str) -> Any:
        return self._wrap(getattr(self.wrapped, name))

    @property
    def closed(self) -> bool:
        return bool(self.wrapped.closed)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
