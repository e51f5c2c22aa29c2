"""Runtime: registers orchestrations and activities and runs them on native threads."""

from __future__ import annotations

import atexit
import weakref
from typing import Any, Callable, Dict, KeysView, Optional, Union, overload

from duroxide import _core, _logging
from duroxide._providers import Provider, closed_native, is_closed
from duroxide._registry import ActivityEntry, F, Registry
from duroxide._types import RuntimeOptions
from duroxide.errors import ClosedError, RuntimeStateError

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
    def make() -> Any:
        from duroxide._client import Client

        return Client(provider)

    return make


class Runtime:
    """Runs registered orchestrations and activities against a provider.

    Several runtimes, in one process or many, may share one provider.
    """

    def __init__(self, provider: Provider, options: Optional[RuntimeOptions] = None,
                 registry: Optional[Registry] = None) -> None:
        if options is None:
            options = RuntimeOptions()
        if not isinstance(options, RuntimeOptions):
            raise TypeError(f"options must be a RuntimeOptions, not {type(options).__name__}")
        if registry is not None and not isinstance(registry, Registry):
            raise TypeError(f"registry must be a duroxide.Registry, not {type(registry).__name__}")
        self._provider = provider
        self._options = options
        self._functions: Dict[str, Callable[..., Any]] = {}
        attach = getattr(provider, "_attach", None)
        provider_native = attach(self) if attach is not None else provider._native
        self._native = _core.Runtime(provider_native, options._to_native(), self._functions,
                                     _client_factory(provider))
        self._started = False
        self._stopped = False
        # The runtime's own registrations; a given registry is followed (later additions to it
        # are served too) but never written to by this runtime's register_* methods.
        self._registry = Registry()
        self._registry._subscribe(self._on_registration)
        self._followed = registry
        if registry is not None:
            registry._subscribe(self._on_registration)
        _live_runtimes.add(self)

    # ---- registration ----------------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """The registrations made through this runtime's register_* methods."""
        return self._registry

    def _on_registration(self, kind: str, key: Any, entry: Any) -> None:
        if kind == "activity":
            assert isinstance(entry, ActivityEntry)
            self._native.register_activity(entry.name, entry.fn)
        else:
            name, version = key
            self._native.register_orchestration(name, version)
            fn_key = name if version == "1.0.0" else f"{name}@{version}"
            self._functions[fn_key] = entry
            self._functions[f"{name}@{version}"] = entry

    @overload
    def register_activity(self, name: str, fn: None = None,
                          **options: Any) -> Callable[[F], F]: ...
    @overload
    def register_activity(self, name: str, fn: F, **options: Any) -> F: ...

    def register_activity(self, name: str, fn: Optional[F] = None,
                          **options: Any) -> Union[F, Callable[[F], F]]:
        """Registers activity `name`; usable as a decorator or a direct call."""
        return self._registry.register_activity(name, fn, **options)

    register_activity_typed = register_activity

    @overload
    def register_orchestration(self, name: str, fn: None = None) -> Callable[[F], F]: ...
    @overload
    def register_orchestration(self, name: str, fn: F) -> F: ...

    def register_orchestration(self, name: str,
                               fn: Optional[F] = None) -> Union[F, Callable[[F], F]]:
        """Registers orchestration `name` (version 1.0.0); decorator or direct call."""
        return self._registry.register_orchestration(name, fn)

    register_orchestration_typed = register_orchestration

    @overload
    def register_orchestration_versioned(self, name: str, version: str,
                                         fn: None = None) -> Callable[[F], F]: ...
    @overload
    def register_orchestration_versioned(self, name: str, version: str, fn: F) -> F: ...

    def register_orchestration_versioned(self, name: str, version: str,
                                         fn: Optional[F] = None) -> Union[F, Callable[[F], F]]:
        """Registers `name` at semver `version`; new starts use the latest version."""
        return self._registry.register_orchestration_versioned(name, version, fn)

    register_orchestration_versioned_typed = register_orchestration_versioned

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the dispatcher threads and returns immediately."""
        if is_closed(self._native):
            raise ClosedError("Runtime is closed; create a new Runtime")
        if self._stopped:
            raise RuntimeStateError(
                "Runtime was shut down; a runtime cannot be restarted: create a new Runtime")
        if self._started:
            raise RuntimeStateError("Runtime already started")
        _logging.on_runtime_start()
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
        _logging.flush()

    def close(self, timeout_ms: Optional[int] = None) -> None:
        """shutdown(timeout_ms), then releases the native runtime and its hold on the store.

        Idempotent. Afterwards start(), register_* and metrics_snapshot() raise ClosedError.
        """
        if is_closed(self._native):
            return
        self.shutdown(timeout_ms)
        self._stopped = True
        _live_runtimes.discard(self)
        if self._followed is not None:
            self._followed._unsubscribe(self._on_registration)
        self._native = closed_native("Runtime")

    @property
    def closed(self) -> bool:
        """True once close() was called (or its provider was closed)."""
        return is_closed(self._native)

    def metrics_snapshot(self) -> Optional["MetricsSnapshot"]:
        """Counters of this runtime (attribute or item access), None before start()."""
        if not self._started and not is_closed(self._native):
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
            return int(self.__dict__["_values"][name])
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> int:
        return self._values[name]

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def keys(self) -> KeysView[str]:
        return self._values.keys()

    def to_dict(self) -> Dict[str, int]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"MetricsSnapshot({self._values})"
