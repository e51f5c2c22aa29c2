"""Runtime: registers orchestrations and activities and runs them on native threads."""

from __future__ import annotations

import atexit
import weakref
from typing import Any, Callable, Dict, Optional

from duroxide import _core, _orchestration_functions
from duroxide._types import RuntimeOptions

_SYSCALL_PREFIX = "__duroxide_syscall:"
_live_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    # Dispatcher threads must stop before the interpreter finalizes.
    for rt in list(_live_runtimes):
        try:
            rt.shutdown(0)
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


def _client_factory(provider: Any) -> Callable[[], Any]:
    def make():
        from duroxide._client import Client

        return Client(provider)

    return make


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{kind} name must be a non-empty str, got {name!r}")
    if name.startswith(_SYSCALL_PREFIX):
        raise ValueError(f"{kind} names starting with {_SYSCALL_PREFIX!r} are reserved")


class Runtime:
    """Runs registered orchestrations and activities against a provider.

    Several runtimes, in one process or many, may share one provider.
    """

    def __init__(self, provider: Any, options: Optional[RuntimeOptions] = None):
        if options is None:
            options = RuntimeOptions()
        if not isinstance(options, RuntimeOptions):
            raise TypeError(f"options must be a RuntimeOptions, not {type(options).__name__}")
        self._provider = provider
        self._options = options
        self._functions: Dict[str, Callable] = {}
        self._native = _core.Runtime(provider._native, options._to_native(), self._functions,
                                     _client_factory(provider))
        self._started = False
        self._stopped = False
        _live_runtimes.add(self)

    # ---- registration ----------------------------------------------------------------------
    def register_activity(self, name: str, fn: Optional[Callable] = None):
        """Registers activity `name`; usable as a decorator or a direct call."""
        _check_name("activity", name)

        def register(f: Callable) -> Callable:
            if not callable(f):
                raise TypeError(f"activity '{name}' must be callable, got {type(f).__name__}")
            self._native.register_activity(name, f)
            return f

        return register(fn) if fn is not None else register

    register_activity_typed = register_activity

    def register_orchestration(self, name: str, fn: Optional[Callable] = None):
        """Registers orchestration `name` (version 1.0.0); decorator or direct call."""
        _check_name("orchestration", name)

        def register(f: Callable) -> Callable:
            if not callable(f):
                raise TypeError(f"orchestration '{name}' must be callable, got {type(f).__name__}")
            self._native.register_orchestration(name, "1.0.0")
            self._functions[name] = f
            _orchestration_functions[name] = f
            return f

        return register(fn) if fn is not None else register

    register_orchestration_typed = register_orchestration

    def register_orchestration_versioned(self, name: str, version: str,
                                         fn: Optional[Callable] = None):
        """Registers `name` at semver `version`; new starts use the latest version."""
        _check_name("orchestration", name)
        if not isinstance(version, str):
            raise TypeError(f"version must be a str like '1.0.1', got {version!r}")

        def register(f: Callable) -> Callable:
            if not callable(f):
                raise TypeError(f"orchestration '{name}' must be callable, got {type(f).__name__}")
            self._native.register_orchestration(name, version)
            self._functions[f"{name}@{version}"] = f
            _orchestration_functions[f"{name}@{version}"] = f
            return f

        return register(fn) if fn is not None else register

    register_orchestration_versioned_typed = register_orchestration_versioned

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the dispatcher threads and returns immediately."""
        if self._started:
            raise RuntimeError("Runtime already started")
        self._native.start()
        self._started = True

    def shutdown(self, timeout_ms: Optional[int] = None) -> None:
        """Stops taking work; waits up to timeout_ms (default 1000) for in-flight work.

        Returns as soon as in-flight turns and activities are done; whatever is still running
        after timeout_ms is handed back for redelivery.
        """
        if not self._started or self._stopped:
            return
        self._stopped = True
        self._native.shutdown(1000 if timeout_ms is None else int(timeout_ms))
        _live_runtimes.discard(self)

    def metrics_snapshot(self):
        """Counters of this runtime (attribute or item access), None before start()."""
        if not self._started:
            return None
        return MetricsSnapshot(self._native.metrics_snapshot())

    def __enter__(self) -> "Runtime":
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


class MetricsSnapshot:
    """Runtime counters, readable as attributes or as snapshot['name']."""

    def __init__(self, values: Dict[str, int]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> int:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def keys(self):
        return self._values.keys()

    def to_dict(self) -> Dict[str, int]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"MetricsSnapshot({self._values})"
