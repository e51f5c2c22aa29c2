"""`async def` activities: one event loop per runtime, on its own thread.

The worker slot that leases an async activity calls it (creating the coroutine), hands the
coroutine to this loop and is free at once; the outcome goes back to the core through the
activity's native completion (`_ActivityCompletion.complete`, which releases the GIL and only
queues: the loop never waits on the store). The runtime's completion thread acknowledges
outcomes in batches (cpp/duroxide/runtime/async_completions.h).

Bounds: at most `async_activity_concurrency` coroutines in flight per runtime. A worker slot
that hands off one more waits for a free place (back-pressure on the fetch, with the GIL
released), so synchronous activities keep their `worker_concurrency` threads and the loop
never holds more than the bound.

Cancellation: the core's cancel flag (lost race, cancelled or finished orchestration,
activity timeout) becomes `task.cancel()` on the loop (checked every CANCEL_POLL_S), so the
coroutine sees asyncio.CancelledError at its current await. At shutdown, what is still running
after the runtime's grace period is cancelled and handed back for redelivery, not failed.

Stalls: a heartbeat measures its own lateness; when the loop was blocked for longer than
`async_loop_stall_ms`, a warning goes to the `duroxide.activity` logger naming the activity
whose step blocked it (each step of each activity is timed) and how long it stalled.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from typing import Any, Coroutine, Dict, Generator, Optional, Tuple

from duroxide.worker.driver import encode_result
from duroxide.worker.tracebacks import exception_traceback

CANCEL_POLL_S = 0.02
HEARTBEAT_S = 0.05
DEFAULT_CONCURRENCY = 1000
DEFAULT_STALL_MS = 500

_log = logging.getLogger("duroxide.activity")


class _Flight:
    """One activity in flight on the loop."""

    __slots__ = ("name", "ctx", "completion", "task", "cancel_sent")

    def __init__(self, name: str, ctx: Any, completion: Any) -> None:
        self.name = name
        self.ctx = ctx
        self.completion = completion
        self.task: Optional["asyncio.Task[None]"] = None
        self.cancel_sent = False


class _Timed:
    """Drives an activity coroutine step by step, timing each step (stall attribution)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], name: str,
                 runner: "AsyncActivityRunner") -> None:
        self.coro = coro
        self.name = name
        self.runner = runner

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value, error = self.coro, None, None
        while True:
            started = time.perf_counter()
            try:
                step = coro.send(value) if error is None else coro.throw(error)
            except StopIteration as stop:
                return stop.value
            finally:
                self.runner._note_step(self.name, time.perf_counter() - started)
            try:
                value, error = (yield step), None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - cancellation is thrown in here
                value, error = None, exc


class AsyncActivityRunner:
    """The event loop of one runtime's async activities (started with the first one)."""

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY,
                 stall_ms: int = DEFAULT_STALL_MS) -> None:
        self.concurrency = concurrency
        self.stall_s = stall_ms / 1000.0
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._flights: Dict[int, _Flight] = {}
        self._stopping = False
        self._watcher: Optional["asyncio.Task[None]"] = None
        # (activity name, seconds) of the last step that ran longer than the stall threshold
        self._slow: Optional[Tuple[str, float]] = None
        self.stalls = 0  # how many stalls were reported (tests, metrics)

    # ---- worker thread side ------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, Any], ctx: Any, completion: Any,
               context: contextvars.Context) -> None:
        """Hands a coroutine to the loop; waits (GIL released) while the bound is reached.
        At shutdown a hand-off still waiting is given back for redelivery instead."""
        while not self._slots.acquire(timeout=0.1):
            if self._stopping:
                coro.close()
                completion.abandon()
                return
        try:
            loop = self._ensure_loop()
            flight = _Flight(ctx.activity_name, ctx, completion)
            loop.call_soon_threadsafe(self._begin, coro, flight, context)
        except BaseException:
            self._slots.release()
            coro.close()
            raise

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(target=self._run_loop, args=(loop, ready),
                                          name="duroxide-async-activities", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def _run_loop(self, loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        self._watcher = loop.create_task(self._watch())
        try:
            loop.run_forever()
        finally:
            loop.close()

    # ---- loop side ---------------------------------------------------------------------------
    def _begin(self, coro: Coroutine[Any, Any, Any], flight: _Flight,
               context: contextvars.Context) -> None:
        assert self._loop is not None
        # A task copies the context current at its creation: run create_task inside `context`.
        flight.task = context.run(self._loop.create_task, self._run(coro, flight))
        self._flights[id(flight)] = flight

    async def _run(self, coro: Coroutine[Any, Any, Any], flight: _Flight) -> None:
        name = flight.name
        try:
            result = await _Timed(coro, name, self)
        except asyncio.CancelledError:
            if self._stopping:
                flight.completion.abandon()  # shutdown: redelivered, not failed
            else:
                flight.completion.complete(
                    False, f"Activity '{name}' call failed: CancelledError: the activity was "
                           "cancelled (its orchestration no longer needs the result)")
            return
        except Exception as exc:  # noqa: BLE001 - reported as the activity's failure
            flight.completion.complete(False, f"Activity '{name}' call failed: "
                                              f"{type(exc).__name__}: {exc}",
                                       traceback=exception_traceback(exc))
            return
        finally:
            self._flights.pop(id(flight), None)
            self._slots.release()
        encoded = encode_result(name, result)
        flight.completion.complete(encoded[0], encoded[1], len(encoded) > 2)

    def _note_step(self, name: str, seconds: float) -> None:
        if seconds >= self.stall_s:
            self._slow = (name, seconds)

    async def _watch(self) -> None:
        """Cancels what the core cancelled, and reports stalls (heartbeat lateness)."""
        loop = asyncio.get_running_loop()
        expected = loop.time() + HEARTBEAT_S
        next_cancel_check = 0.0
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            now = loop.time()
            late = now - expected
            expected = now + HEARTBEAT_S
            if late >= self.stall_s:
                self._report_stall(late)
            if now >= next_cancel_check:
                next_cancel_check = now + CANCEL_POLL_S
                for flight in list(self._flights.values()):
                    if flight.task is not None and not flight.task.done() and \
                            not flight.cancel_sent and flight.ctx.is_cancelled():
                        flight.cancel_sent = True
                        flight.task.cancel()

    def _report_stall(self, late_s: float) -> None:
        self.stalls += 1
        slow, self._slow = self._slow, None
        if slow is not None:
            name, seconds = slow
            _log.warning("event loop of async activities stalled for %d ms: activity '%s' "
                         "ran %d ms without awaiting (blocking code in an async activity: "
                         "await non-blocking I/O, or make it a def activity)",
                         round(late_s * 1000), name, round(seconds * 1000),
                         extra={"activity_name": name, "stall_ms": round(late_s * 1000)})
        else:
            _log.warning("event loop of async activities stalled for %d ms",
                         round(late_s * 1000), extra={"stall_ms": round(late_s * 1000)})

    # ---- shutdown ----------------------------------------------------------------------------
    def in_flight(self) -> int:
        return self.concurrency - self._slots._value

    def stop(self, timeout_s: float = 5.0) -> None:
        """Cancels what is still running (handed back for redelivery) and stops the loop."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = None
        if loop is None or thread is None:
            return
        self._stopping = True

        async def cancel_all() -> None:
            tasks = [f.task for f in self._flights.values() if f.task is not None]
            if self._watcher is not None:
                tasks.append(self._watcher)
            for task in tasks:
                task.cancel()
            # Each cancelled activity reports `abandon` on its way out.
            await asyncio.wait(tasks, timeout=timeout_s / 2)
            loop.stop()

        loop.call_soon_threadsafe(lambda: loop.create_task(cancel_all()))
        thread.join(timeout_s)
