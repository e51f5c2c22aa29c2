"""What a client reads back about an instance: its status and result."""

from __future__ import annotations

from typing import Any, Literal, Optional, cast

from duroxide._common import loads_or_raw

# The statuses a client sees (OrchestrationResult.status).
OrchestrationStatusName = Literal["NotFound", "Running", "Completed", "Failed"]


class OrchestrationResult:
    """Status of an orchestration instance as seen by a client.

    Attributes:
        status: "NotFound", "Running", "Completed" or "Failed".
        output: the orchestration's return value (parsed JSON) when Completed, else None.
        error: the error text when Failed, else None.
        custom_status: the last custom status string, or None.
        custom_status_version: increases each time a turn changes the custom status.
    """

    def __init__(self, status: OrchestrationStatusName, output: Any = None,
                 error: Optional[str] = None,
                 custom_status: Optional[str] = None, custom_status_version: int = 0):
        self.status: OrchestrationStatusName = status
        self.output = output
        self.error = error
        self.custom_status = custom_status
        self.custom_status_version = custom_status_version


def parse_status(raw: Any) -> OrchestrationResult:
    status = cast(OrchestrationStatusName, raw.status)
    return OrchestrationResult(status, loads_or_raw(raw.output), raw.error, raw.custom_status,
                               raw.custom_status_version)
