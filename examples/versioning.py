"""Versioning: change an orchestration without breaking instances already running.

Day 1 deploys version 1.0.0 of "Onboarding" and starts an instance that waits for a
signal. Day 2 deploys 2.0.0 next to 1.0.0: new instances get 2.0.0, while the day-1 instance
keeps running (and finishes) on 1.0.0, because its history was recorded by that code. A
third orchestration shows the upgrade path: continue_as_new moves an instance to the latest
version at its next execution. Day 3 shows what versioning protects against: editing 1.0.0
in place makes a running 1.0.0 instance fail as nondeterministic. All "days" share one
SQLite file.

    PYTHONPATH=python python3 examples/versioning.py
"""

import os
import shutil
import tempfile
from typing import Any, Optional

from duroxide import Client, OrchestrationContext, Provider, Runtime, SqliteProvider

db = os.path.join(tempfile.mkdtemp(prefix="duroxide-versioning-"), "app.db")


def onboarding_v1(ctx: OrchestrationContext, user: Any) -> Any:
    yield ctx.schedule_activity("SendMail", f"welcome {user}")
    ctx.set_custom_status("waiting for signup confirmation")
    yield ctx.wait_for_event("confirmed")
    return {"user": user, "steps": ["welcome mail"], "version": ctx.orchestration_version}


def onboarding_v2(ctx: OrchestrationContext, user: Any) -> Any:
    # 2.0.0 adds a step before the wait: replaying a 1.0.0 history with this code would be
    # nondeterministic, which is why running 1.0.0 instances keep running 1.0.0.
    yield ctx.schedule_activity("SendMail", f"welcome {user}")
    yield ctx.schedule_activity("CreateWorkspace", user)
    ctx.set_custom_status("waiting for signup confirmation")
    yield ctx.wait_for_event("confirmed")
    return {"user": user, "steps": ["welcome mail", "workspace"],
            "version": ctx.orchestration_version}


def subscription_v1(ctx: OrchestrationContext, cycle: Any) -> Any:
    yield ctx.schedule_activity("SendMail", f"invoice #{cycle} (old template)")
    # Plain continue_as_new: the next execution runs the latest registered version.
    yield ctx.continue_as_new(cycle + 1)


def subscription_v2(ctx: OrchestrationContext, cycle: Any) -> Any:
    yield ctx.schedule_activity("SendMail", f"invoice #{cycle} (new template)")
    return {"cycles": cycle, "version": ctx.orchestration_version,
            "execution_id": ctx.execution_id}


def make_runtime(provider: Provider, with_v2: bool, edited_in_place: bool = False) -> Runtime:
    runtime = Runtime(provider)
    runtime.register_activity("SendMail", lambda ctx, text: f"mailed: {text}")
    runtime.register_activity("CreateWorkspace", lambda ctx, user: f"workspace for {user}")
    # Version 1.0.0 (a plain registration). The bad deploy puts the new code under 1.0.0.
    onboarding = onboarding_v2 if edited_in_place else onboarding_v1
    runtime.register_orchestration("Onboarding", onboarding)
    runtime.register_orchestration("Subscription", subscription_v1)
    if with_v2:
        runtime.register_orchestration_versioned("Onboarding", "2.0.0", onboarding_v2)
        runtime.register_orchestration_versioned("Subscription", "2.0.0", subscription_v2)
    return runtime


def wait_for_custom_status(client: Client, instance_id: str) -> Optional[str]:
    status = client.wait_for_status_change(instance_id, 0, 20, 5000)
    if status is None:  # None means: nothing changed before the timeout
        raise TimeoutError(instance_id)
    return status.custom_status


provider = SqliteProvider.open(db)
client = Client(provider)

# ---- day 1: only version 1.0.0 exists -----------------------------------------------------
day1 = make_runtime(provider, with_v2=False)
day1.start()
for user in ("ann", "cat"):
    client.start_orchestration(f"onboard-{user}", "Onboarding", user)
    print(f"day 1, onboard-{user}:", wait_for_custom_status(client, f"onboard-{user}"))
day1.shutdown(2000)  # "deploy": the instance is still running, parked in the database

# ---- day 2: 1.0.0 and 2.0.0 side by side ---------------------------------------------------
day2 = make_runtime(provider, with_v2=True)
day2.start()
try:
    client.start_orchestration("onboard-ben", "Onboarding", "ben")  # latest: 2.0.0
    print("day 2, onboard-ben:", wait_for_custom_status(client, "onboard-ben"))
    for user in ("ann", "ben"):
        client.raise_event(f"onboard-{user}", "confirmed", True)
    for user in ("ann", "ben"):
        result = client.wait_for_orchestration(f"onboard-{user}", 10000)
        print(f"onboard-{user}:", result.status, result.output)

    # Pin a new instance to the old version explicitly (note: input comes before version).
    client.start_orchestration_versioned("sub-1", "Subscription", 1, "1.0.0")
    result = client.wait_for_orchestration("sub-1", 10000)
    print("sub-1 (started on 1.0.0, upgraded by continue_as_new):", result.output)
finally:
    day2.shutdown(2000)

# ---- day 3: a bad deploy edits 1.0.0 in place ----------------------------------------------
day3 = make_runtime(provider, with_v2=False, edited_in_place=True)
day3.start()
try:
    client.raise_event("onboard-cat", "confirmed", True)  # cat still runs 1.0.0
    result = client.wait_for_orchestration("onboard-cat", 10000)
    print("onboard-cat after editing 1.0.0 in place:", result.status, "-", result.error)
finally:
    day3.shutdown(2000)
    shutil.rmtree(os.path.dirname(db), ignore_errors=True)
