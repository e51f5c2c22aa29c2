"""The waiter registry of AsyncClient: many awaited waits, one thread.

A wait (`await client.wait_for_orchestration(...)`) is a check function and an asyncio
future. One daemon thread per registry sleeps on the native `_InstanceWatch` (the provider's
status signal; GIL released), re-runs the checks of the instances that changed, and resolves
futures with `loop.call_soon_threadsafe`. A new wait's first check runs in the client's
executor right after it is registered (a short store read, off the loop); changes that cannot
be attributed to an instance (another process, a bulk operation) re-check every wait, and so
does a periodic sweep (SWEEP_MIN_S, stretched to 4x the last sweep's cost), which is how
writes by other processes to a SQLite file are noticed. Timeouts are the loop's own timers:
no thread waits for them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Executor
from typing import Any, Callable, Dict, List, Optional, Set

from duroxide import _core

SWEEP_MIN_S = 0.25


class _Wait:
    __slots__ = ("instance", "check", "future", "loop")

    def __init__(self, instance: str, check: Callable[[], Any], future: "asyncio.Future[Any]",
                 loop: asyncio.AbstractEventLoop) -> None:
        self.instance = instance
        self.check = check
        self.future = future
        self.loop = loop


def _settle(future: "asyncio.Future[Any]", value: Any, error: Optional[BaseException]) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class WaiterRegistry:
    """Waits of one provider. `check()` returns None to keep waiting, anything else to finish
    (or raises to fail the wait); it runs on the registry thread."""

    def __init__(self, provider_native: Any, executor: Executor) -> None:
        self._watch = _core._InstanceWatch(provider_native)
        self._executor = executor
        self._lock = threading.Lock()
        self._waits: Dict[str, Set[_Wait]] = {}
        self._thread: Optional[threading.Thread] = None
        self._closed = False

    def __len__(self) -> int:
        with self._lock:
            return sum(len(w) for w in self._waits.values())

    async def wait(self, instance: str, check: Callable[[], Any], timeout_s: float) -> Any:
        """The first non-None check() result; asyncio.TimeoutError after timeout_s.

        Registered before the first check (run in the executor, not on the loop), so a change
        committed between that check and the sleep re-checks it: nothing is missed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0)
        wait = _Wait(instance, check, loop.create_future(), loop)
        with self._lock:
            self._waits.setdefault(instance, set()).add(wait)
            self._ensure_thread()
        try:
            first = await loop.run_in_executor(self._executor, check)
            if first is not None:
                return first
            return await asyncio.wait_for(wait.future, max(deadline - loop.time(), 0))
        finally:
            with self._lock:
                waits = self._waits.get(instance)
                if waits is not None:
                    waits.discard(wait)
                    if not waits:
                        del self._waits[instance]

    def close(self) -> None:
        self._closed = True
        self._watch.close()

    # ---- the registry thread -------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="duroxide-aio-waiters",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        sweep_every = SWEEP_MIN_S
        next_sweep = time.monotonic() + sweep_every
        while not self._closed:
            timeout_ms = max(1, int((next_sweep - time.monotonic()) * 1000))
            everything, changed = self._watch.take(timeout_ms)
            now = time.monotonic()
            sweep = everything or now >= next_sweep
            with self._lock:
                if sweep:
                    targets = [w for waits in self._waits.values() for w in waits]
                else:
                    targets = [w for i in changed for w in self._waits.get(i, ())]
            started = time.monotonic()
            self._check(targets)
            if sweep:
                cost = time.monotonic() - started
                sweep_every = max(SWEEP_MIN_S, 4 * cost)
                next_sweep = time.monotonic() + sweep_every

    def _check(self, targets: List[_Wait]) -> None:
        seen: Set[int] = set()
        for wait in targets:
            if id(wait) in seen or wait.future.done():
                continue
            seen.add(id(wait))
            try:
                value = wait.check()
            except BaseException as exc:  # noqa: BLE001 - fails that wait only
                self._resolve(wait, None, exc)
                continue
            if value is not None:
                self._resolve(wait, value, None)

    @staticmethod
    def _resolve(wait: _Wait, value: Any, error: Optional[BaseException]) -> None:
        try:
            wait.loop.call_soon_threadsafe(_settle, wait.future, value, error)
        except RuntimeError:
            pass  # the waiter's loop is closed: nobody is waiting any more
