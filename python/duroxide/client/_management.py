"""Management methods of Client: listing, inspection, deletion, pruning and metrics.

The methods mirror api.md 1.4; the work (tree walks, cascades, retries) happens in the C++
`Management` class, this module only adapts arguments.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from duroxide import _core
from duroxide._providers import is_closed


class ManagementMixin:
    """Adds the management API to Client (needs `self._provider`, a provider wrapper)."""

    _provider: Any
    _provider_native: Any  # the provider's native handle, or a closed placeholder

    @property
    def _management(self) -> "_core.Management":
        native = self.__dict__.get("_management_native")
        if native is None:
            if is_closed(self._provider_native):
                return self._provider_native  # type: ignore[no-any-return]  # raises on use
            native = _core.Management(self._provider_native)
            self.__dict__["_management_native"] = native
        return native

    # ---- listing and inspection ---------------------------------------------------------

    def list_all_instances(self) -> List[str]:
        """Ids of every instance in the store, newest first."""
        return self._management.list_all_instances()

    def list_instances_by_status(self, status: str) -> List[str]:
        """Ids of the instances whose current execution has `status`, newest first.

        Args:
            status: "Running", "Completed", "Failed" or "ContinuedAsNew".
        """
        return self._management.list_instances_by_status(status)

    def get_instance_info(self, instance_id: str) -> _core.InstanceInfo:
        """Name, version, status, output and timestamps (epoch ms) of an instance.

        Raises:
            NotFoundError: "Instance <id> not found" (a RuntimeError).
        """
        return self._management.get_instance_info(instance_id)

    def get_execution_info(self, instance_id: str, execution_id: int) -> _core.ExecutionInfo:
        """One execution (1-based id) of an instance.

        Raises:
            NotFoundError: the instance or the execution does not exist.
        """
        return self._management.get_execution_info(instance_id, int(execution_id))

    def list_executions(self, instance_id: str) -> List[int]:
        """Execution ids of an instance in ascending order ([] for an unknown instance)."""
        return self._management.list_executions(instance_id)

    def read_execution_history(self, instance_id: str, execution_id: int) -> List[_core.Event]:
        """The events of one execution, ordered by event_id.

        Raises:
            NotFoundError: the instance or the execution does not exist.
        """
        return self._management.read_execution_history(instance_id, int(execution_id))

    def get_kv_all(self, instance_id: str) -> Dict[str, str]:
        """The live KV store of an instance as {key: raw value} ({} for an unknown one)."""
        values: Dict[str, str] = self._management.get_kv_all(instance_id)
        return values

    def get_instance_tree(self, instance_id: str) -> _core.InstanceTree:
        """The instance and all its sub-orchestrations, breadth-first (root first)."""
        return self._management.get_instance_tree(instance_id)

    # ---- deletion and pruning -----------------------------------------------------------

    def delete_instance(self, instance_id: str, force: bool = False) -> _core.DeleteInstanceResult:
        """Deletes a root instance and its whole tree of sub-orchestrations, atomically.

        Raises:
            StoreError: the instance is missing, is a sub-orchestration, or (without
                `force`) is still running.
        """
        return self._management.delete_instance(instance_id, bool(force))

    def delete_instance_bulk(self, filter: Optional[_core.InstanceFilter] = None
                             ) -> _core.DeleteInstanceResult:
        """Deletes the trees of finished root instances matching `filter` (running: skipped)."""
        return self._management.delete_instance_bulk(
            _core.InstanceFilter() if filter is None else filter)

    def prune_executions(self, instance_id: str,
                         options: Optional[_core.PruneOptions] = None) -> _core.PruneResult:
        """Deletes old executions of an instance; never the current or a running one."""
        return self._management.prune_executions(
            instance_id, _core.PruneOptions() if options is None else options)

    def prune_executions_bulk(self, filter: Optional[_core.InstanceFilter] = None,
                              options: Optional[_core.PruneOptions] = None) -> _core.PruneResult:
        """prune_executions over every instance matching `filter`, running ones included."""
        return self._management.prune_executions_bulk(
            _core.InstanceFilter() if filter is None else filter,
            _core.PruneOptions() if options is None else options)

    # ---- metrics --------------------------------------------------------------------------

    def get_system_metrics(self) -> _core.SystemMetrics:
        """Instance, execution and event counts over the whole store."""
        return self._management.get_system_metrics()

    def get_queue_depths(self) -> _core.QueueDepths:
        """Pending messages in the orchestrator and worker queues, and future timers."""
        return self._management.get_queue_depths()

    def get_orchestration_stats(self, instance_id: str) -> Optional[_core.SystemStats]:
        """Storage figures of one instance, or None for an unknown instance."""
        return self._management.get_orchestration_stats(instance_id)
