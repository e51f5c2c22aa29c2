"""Client: start orchestrations, send them events, read and wait for their status."""

from __future__ import annotations

import json
from typing import Any, Optional

from duroxide import _core
from duroxide._management import ManagementMixin
from duroxide._messaging_client import MessagingClientMixin
from duroxide._types import OrchestrationResult, _parse_status


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what}: value of type {type(value).__name__} is not JSON-serializable ({exc})"
        ) from None


class Client(ManagementMixin, MessagingClientMixin):
    """Talks to a provider: works with or without a Runtime in the same process."""

    def __init__(self, provider: Any):
        self._provider = provider
        self._native = _core.Client(provider._native)

    def start_orchestration(self, instance_id: str, name: str, input: Any = None) -> None:
        """Starts `name` as `instance_id` with the latest registered version.

        Raises:
            InstanceAlreadyExistsError: the id is taken (nothing is changed).
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
        return _parse_status(self._native.get_status(instance_id))

    def wait_for_orchestration(self, instance_id: str, timeout_ms: int = 30000) -> OrchestrationResult:
        """Waits until Completed or Failed.

        Raises:
            RuntimeError: "Operation timed out" when timeout_ms elapses first.
        """
        return _parse_status(self._native.wait_for_orchestration(instance_id, int(timeout_ms)))

    def wait_for_orchestration_typed(self, instance_id: str, timeout_ms: int = 30000) -> Any:
        """Waits and returns the output; raises Exception(error) if the instance failed."""
        result = self.wait_for_orchestration(instance_id, timeout_ms)
        if result.status == "Failed":
            raise Exception(result.error or "Orchestration failed")
        return result.output

    def wait_for_status_change(self, instance_id: str, last_seen_version: int = 0,
                               poll_interval_ms: int = 200,
                               timeout_ms: int = 30000) -> Optional[OrchestrationResult]:
        """Waits until custom_status_version > last_seen_version or the instance ends.

        Returns None on timeout.
        """
        raw = self._native.wait_for_status_change(instance_id, int(last_seen_version),
                                                  int(poll_interval_ms), int(timeout_ms))
        return None if raw is None else _parse_status(raw)

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
        return self._native.get_kv_value(instance_id, key)

    def get_kv_value_typed(self, instance_id: str, key: str) -> Any:
        raw = self.get_kv_value(instance_id, key)
        return None if raw is None else json.loads(raw)

    def wait_for_kv_value(self, instance_id: str, key: str, timeout_ms: int = 30000) -> str:
        """Waits until the key exists.

        Raises:
            TimeoutError: the key did not appear within timeout_ms.
        """
        try:
            return self._native.wait_for_kv_value(instance_id, key, int(timeout_ms))
        except RuntimeError as exc:
            if "timed out" in str(exc):
                raise TimeoutError(
                    f"Timed out waiting for value '{key}' on instance '{instance_id}'"
                ) from None
            raise

    def wait_for_kv_value_typed(self, instance_id: str, key: str, timeout_ms: int = 30000) -> Any:
        return json.loads(self.wait_for_kv_value(instance_id, key, timeout_ms))
