"""The contexts user code receives, at their historical path (api.md: `duroxide.context`).

The orchestration context lives in duroxide.workflow.context, the activity context in
duroxide.worker.activity; this module re-exports both.
"""

from __future__ import annotations

from duroxide.worker.activity import ActivityContext, current_activity
from duroxide.workflow.context import JoinTask, OrchestrationContext, ScheduledTask, Task

__all__ = ["OrchestrationContext", "ActivityContext", "ScheduledTask", "JoinTask", "Task",
           "current_activity"]
