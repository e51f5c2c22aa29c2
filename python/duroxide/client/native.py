"""Client: start orchestrations, send them events, read and wait for their status."""

from __future__ import annotations

import json
from typing import Any, Optional

from duroxide import _core
from duroxide._common import dumps_value
from duroxide._providers import Provider, closed_native, is_closed
from duroxide.client._fleet import FleetMixin
from duroxide.client._graphs import GraphClientMixin
from duroxide.client._management import ManagementMixin
from duroxide.client._messaging import MessagingClientMixin
from duroxide.client.results import OrchestrationResult, parse_status
from duroxide.errors import InvalidArgumentError, OperationTimedOutError, OrchestrationFailedError

_dumps = dumps_value


class Client(ManagementMixin, FleetMixin, MessagingClientMixin, GraphClientMixin):
    """Talks to a provider: works with or without a Runtime in the same process."""

    def __init__(self, provider: Provider, *, max_payload_bytes: Optional[int] = None) -> None:
        """`max_payload_bytes` caps start inputs and event data this client sends (default
        duroxide.MAX_PAYLOAD_BYTES, 4 MiB; 0 disables the check); a larger payload raises
        InvalidArgumentError and nothing is written."""
        self._provider = provider
        attach = getattr(provider, "_attach", None)
        self._provider_native = attach(self) if attach is not None else provider._native
        self._native = _core.Client(self._provider_native)
        if max_payload_bytes is not None:
            if (not isinstance(max_payload_bytes, int) or isinstance(max_payload_bytes, bool)
                    or max_payload_bytes < 0):
                raise InvalidArgumentError(
                    f"Client.max_payload_bytes must be an int >= 0, got {max_payload_bytes!r}")
            self._native.max_payload_bytes = max_payload_bytes

    # ---- resources -------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once close() was called (or the provider was closed)."""
        return is_closed(self._native)

    def close(self) -> None:
        """Releases this client's hold on the store; later calls raise ClosedError."""
        self._native = closed_native("Client")
        self._provider_native = self._native
        self.__dict__.pop("_management_native", None)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start_orchestration(self, instance_id: str, name: str, input: Any = None) -> None:
        """Starts `name` as `instance_id` with the latest registered version.

        Raises:
            InstanceAlreadyExistsError: the id is taken (nothing is changed).
            InvalidArgumentError: the instance id (1-256 bytes, no control characters), the
                name (1-256 bytes) or the serialized input (max_payload_bytes) is out of
                limits (nothing is changed).
        """
        self._native.start_orchestration(instance_id, name,
                                         _dumps(input, "start_orchestration input"), None)

    def start_orchestration_versioned(self, instance_id: str, name: str, input: Any,
                                      version: str) -> None:
        """Starts `name` pinned to `version` (note: input before version)."""
        self._native.start_orchestration(
            instance_id, name, _dumps(input, "start_orchestration_versioned input"), version)

    start_orchestration_typed = start_orchestration
    start_orchestration_versioned_typed = start_orchestration_versioned

    def get_status(self, instance_id: str) -> OrchestrationResult:
        """The current status without waiting ("NotFound" for an unknown id)."""
        return parse_status(self._native.get_status(instance_id))

    def wait_for_orchestration(self, instance_id: str,
                               timeout_ms: int = 30000) -> OrchestrationResult:
        """Waits until Completed or Failed.

        Raises:
            OperationTimedOutError: "Operation timed out" when timeout_ms elapses first
                (a RuntimeError and a TimeoutError).
        """
        return parse_status(self._native.wait_for_orchestration(instance_id, int(timeout_ms)))

    def wait_for_orchestration_typed(self, instance_id: str, timeout_ms: int = 30000) -> Any:
        """Waits and returns the output.

        Raises:
            OrchestrationFailedError: the instance failed (str() is its error).
        """
        result = self.wait_for_orchestration(instance_id, timeout_ms)
        if result.status == "Failed":
            raise OrchestrationFailedError(result.error or "Orchestration failed")
        return result.output

    def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                               poll_interval_ms: int = 200,
                               timeout_ms: int = 30000) -> Optional[OrchestrationResult]:
        """Waits until custom_status_version > last_seen_version or the instance ends.

        Returns None on timeout.
        """
        raw = self._native.wait_for_status_change(instance_id, int(last_seen_version),
                                                  int(poll_interval_ms), int(timeout_ms))
        return None if raw is None else parse_status(raw)

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Delivers `data` to the orchestration's wait_for_event(event_name)."""
        self._native.raise_event(instance_id, event_name, _dumps(data, "raise_event data"))

    def enqueue_event(self, instance_id: str, queue_name: str, data: Any = None) -> None:
        """Appends `data` to the orchestration's event queue `queue_name` (FIFO)."""
        self._native.enqueue_event(instance_id, queue_name, _dumps(data, "enqueue_event data"))

    raise_event_typed = raise_event
    enqueue_event_typed = enqueue_event

    def cancel_instance(self, instance_id: str, reason: Optional[str] = None) -> None:
        """Cancels a running instance: it ends Failed with "canceled: <reason>"."""
        self._native.cancel_instance(instance_id, "" if reason is None else str(reason))

    def get_kv_value(self, instance_id: str, key: str) -> Optional[str]:
        """The raw KV string, or None."""
        value: Optional[str] = self._native.get_kv_value(instance_id, key)
        return value

    def get_kv_value_typed(self, instance_id: str, key: str) -> Any:
        raw = self.get_kv_value(instance_id, key)
        return None if raw is None else json.loads(raw)

    def wait_for_kv_value(self, instance_id: str, key: str, timeout_ms: int = 30000) -> str:
        """Waits until the key exists.

        Raises:
            OperationTimedOutError: the key did not appear within timeout_ms (a TimeoutError).
        """
        try:
            return str(self._native.wait_for_kv_value(instance_id, key, int(timeout_ms)))
        except OperationTimedOutError:
            raise OperationTimedOutError(
                f"Timed out waiting for value '{key}' on instance '{instance_id}'"
            ) from None

    def wait_for_kv_value_typed(self, instance_id: str, key: str, timeout_ms: int = 30000) -> Any:
        return json.loads(self.wait_for_kv_value(instance_id, key, timeout_ms))
