"""The generator driver, at its historical path (api.md: `duroxide.driver`).

`start`, `step`, `resolve` and `run_activity` are what the native core calls (they live in
duroxide.workflow.generator and duroxide.worker.driver); `create_generator`, `next_step` and
`dispose_generator` are the reference package's JSON driver protocol
(duroxide.workflow.generator_protocol, api.md 1.13).
"""

from __future__ import annotations

from duroxide.worker.driver import resolve, run_activity
from duroxide.workflow.generator import OrchestrationGenerator as OrchestrationGenerator
from duroxide.workflow.generator import StepResult as StepResult
from duroxide.workflow.generator import start, step
from duroxide.workflow.generator_protocol import create_generator, dispose_generator, next_step

__all__ = ["create_generator", "next_step", "dispose_generator", "resolve", "start", "step",
           "run_activity"]
