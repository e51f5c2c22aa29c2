"""Conversions between the Python API's values and the REST models (one place, both ways)."""

from __future__ import annotations

from typing import Any

from duroxide.server import models
from duroxide.worker.tracebacks import event_traceback


def info(value: Any) -> models.InstanceInfo:
    return models.InstanceInfo(
        instance_id=value.instance_id, orchestration_name=value.orchestration_name,
        orchestration_version=value.orchestration_version,
        current_execution_id=value.current_execution_id, status=value.status,
        output=value.output, created_at=value.created_at, updated_at=value.updated_at,
        parent_instance_id=value.parent_instance_id)


def status(instance_id: str, value: Any) -> models.OrchestrationStatus:
    return models.OrchestrationStatus(
        instance_id=instance_id, status=value.status, output=value.output, error=value.error,
        custom_status=value.custom_status, custom_status_version=value.custom_status_version)


def execution(value: Any) -> models.ExecutionInfo:
    return models.ExecutionInfo(
        execution_id=value.execution_id, status=value.status, output=value.output,
        started_at=value.started_at, completed_at=value.completed_at,
        event_count=value.event_count)


def event(value: Any, raw: bool = False) -> models.Event:
    return models.Event(event_id=value.event_id, kind=value.kind,
                        source_event_id=value.source_event_id,
                        timestamp_ms=value.timestamp_ms, data=value.data,
                        raw=value.raw if raw else None,
                        traceback=event_traceback(value.kind, value.data))


def fields(value: Any, model: Any) -> Any:
    """A model whose fields are read from the same-named attributes of `value`."""
    return model(**{name: getattr(value, name) for name in model.model_fields})
