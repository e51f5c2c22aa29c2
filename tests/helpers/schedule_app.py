"""The Registry served by `duroxide worker helpers.schedule_app:registry` in
tests/test_schedules_fleet.py: one orchestration a schedule starts every second."""

from __future__ import annotations

from typing import Any

import duroxide

registry = duroxide.Registry()


@registry.register_orchestration("Tick")
def tick(ctx: Any, value: Any) -> Any:
    return {"instance": ctx.instance_id, "value": value}
    yield  # a generator orchestration
