"""Time skipping: a test runtime whose durable timers run on a virtual clock.

The C++ core reads time through one function (`NowMs`, cpp/duroxide/common/clock.h) that adds
a process-wide offset to the wall clock; it is 0 outside tests. A `TimeSkippingRuntime` starts
the runtime with the test-only `time_skipping` option: a core thread checks every few
milliseconds whether every dispatcher of the runtime is idle and the store holds only future
work (timers, retry backoffs, delayed redeliveries), and if so moves the offset to the earliest
due time and wakes the dispatchers. A workflow that sleeps for 30 days therefore completes in
milliseconds, `ctx.utc_now()` returns the virtual time, and retry backoff and per-attempt
timeouts (both durable timers) follow it. Activities still run in real time: while one runs
the clock only moves with the wall clock (or by hand, with `advance`).

The virtual clock is process-wide: run one time-skipping runtime at a time. Shutting it down
puts the clock back on the wall clock (reset_clock=False keeps it).
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Iterator, Optional

from duroxide.errors import InvalidArgumentError, InvalidTypeError
from duroxide.worker.options import RuntimeOptions
from duroxide.worker.registry import Registry
from duroxide.worker.runtime import Runtime

__all__ = ["TimeSkippingRuntime", "virtual_now_ms"]

_core: Any = importlib.import_module("duroxide._core")  # the native module (untyped)


def virtual_now_ms() -> int:
    """Milliseconds since the epoch on the runtime's (virtual) clock."""
    return int(_core.now_ms())


class _SkippingOptions(RuntimeOptions):
    """RuntimeOptions plus the core's test-only `time_skipping` flag."""

    def __init__(self, base: RuntimeOptions):  # noqa: D107 - copies `base`
        object.__setattr__(self, "_tag", dict(base._tag))
        object.__setattr__(self, "_values", dict(base._values))

    def _to_native(self) -> Any:
        out = super()._to_native()
        out["time_skipping"] = True
        return out


class TimeSkippingRuntime(Runtime):
    """A Runtime for tests whose timers fire as soon as nothing else is left to do.

    Use it like a Runtime: register, start, run orchestrations. `auto_skip` (default True)
    makes the clock jump to the next due timer whenever the runtime is idle; set it to False
    (or use `with rt.paused():`) to control time only by hand with `advance(...)`.
    """

    def __init__(self, provider: Any, options: Optional[RuntimeOptions] = None,
                 registry: Optional[Registry] = None, *, auto_skip: bool = True,
                 reset_clock: bool = True):
        if options is None:
            options = RuntimeOptions(dispatcher_poll_interval_ms=20)
        if not isinstance(options, RuntimeOptions):
            raise InvalidTypeError(
                f"options must be a RuntimeOptions, not {type(options).__name__}")
        super().__init__(provider, _SkippingOptions(options), registry)
        self._reset_clock = reset_clock
        self._start_offset = int(_core.clock_offset_ms())
        self.auto_skip = auto_skip

    # ---- the clock ----------------------------------------------------------------------
    @property
    def auto_skip(self) -> bool:
        """Whether the clock jumps to the next due timer whenever the runtime is idle."""
        return self._auto_skip

    @auto_skip.setter
    def auto_skip(self, enabled: bool) -> None:
        self._auto_skip = bool(enabled)
        self._native.set_auto_skip(self._auto_skip)

    @contextlib.contextmanager
    def paused(self) -> Iterator["TimeSkippingRuntime"]:
        """Suspends automatic skipping inside the block (e.g. to raise an event first)."""
        previous = self.auto_skip
        self.auto_skip = False
        try:
            yield self
        finally:
            self.auto_skip = previous

    def now_ms(self) -> int:
        """The virtual time, in milliseconds since the epoch."""
        return virtual_now_ms()

    @property
    def skipped_ms(self) -> int:
        """How far the virtual clock is ahead of the wall clock."""
        return int(_core.clock_offset_ms())

    def advance(self, ms: float = 0, *, seconds: float = 0, minutes: float = 0,
                hours: float = 0, days: float = 0) -> int:
        """Moves the clock forward by hand (timers due by then fire); returns the ms moved."""
        total = int(ms + 1000 * (seconds + 60 * (minutes + 60 * (hours + 24 * days))))
        if total < 0:
            raise InvalidArgumentError(f"advance: the clock only moves forward (got {total} ms)")
        self._native.advance_clock(total)
        return total

    advance_clock = advance

    def advance_to(self, epoch_ms: int) -> int:
        """Moves the clock forward to `epoch_ms` (no-op if already past)."""
        return self.advance(max(0, int(epoch_ms) - virtual_now_ms()))

    def skip_to_next_timer(self) -> int:
        """If the runtime is idle, jumps to the next due timer now; returns the ms jumped."""
        return int(self._native.skip_time_if_idle())

    def shutdown(self, timeout_ms: Optional[int] = None) -> None:
        super().shutdown(timeout_ms)
        if self._reset_clock:
            _core.reset_clock_offset()
            if self._start_offset:
                _core.advance_clock_ms(self._start_offset)
