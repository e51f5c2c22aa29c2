"""AI pipeline with durable actors: Coder -> Reviewer -> Tester, with review rounds.

The seed's in-memory pipeline, redone durably (docs/messaging.md). Three actor types pass
work along with requests: the "Pipeline" orchestration asks the Coder for code, the Reviewer
for a review (the Coder revises until the Reviewer approves, up to 3 rounds), then the Tester
for a verdict. Activities stand in for model calls (a short sleep and canned text).

The script runs the worker in a child process, kills it with SIGKILL in the middle of the
work, and finishes with a fresh worker in this process: every actor keeps its state, every
request gets exactly its reply, nothing is done twice except an activity that was running at
the moment of the kill (activities run at least once).

    PYTHONPATH=python python3 examples/ai_pipeline.py
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

from duroxide import Client, Registry, Runtime, RuntimeOptions, SqliteProvider

TASKS = ["parse a CSV file", "compute a moving average", "render a bar chart"]
registry = Registry()


# ---- "model calls" (activities) -----------------------------------------------------------
@registry.register_activity("WriteCode")
def write_code(ctx: Any, job: Dict[str, Any]) -> str:
    time.sleep(0.1)
    return f"def solve():  # {job['task']}, revision {job['revision']}"


@registry.register_activity("ReviewCode")
def review_code(ctx: Any, job: Dict[str, Any]) -> Dict[str, Any]:
    time.sleep(0.1)
    approved = job["revision"] >= 2  # the first draft always gets comments
    return {"approved": approved, "comments": [] if approved else ["add docstrings"]}


@registry.register_activity("RunTests")
def run_tests(ctx: Any, code: str) -> Dict[str, Any]:
    time.sleep(0.1)
    return {"passed": 3, "failed": 0, "code_len": len(code)}


# ---- actors -------------------------------------------------------------------------------
coder = registry.register_actor("Coder")
reviewer = registry.register_actor("Reviewer")
tester = registry.register_actor("Tester")


@coder.on_message
def code(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
    state["written"] = state.get("written", 0) + 1
    return (yield ctx.schedule_activity("WriteCode", msg.data))


@reviewer.on_message
def review(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
    state["reviews"] = state.get("reviews", 0) + 1
    result = yield ctx.schedule_activity("ReviewCode", msg.data)
    if result["approved"]:
        state["approved"] = state.get("approved", 0) + 1
    return result


@tester.on_message
def test(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
    state["runs"] = state.get("runs", 0) + 1
    return (yield ctx.schedule_activity("RunTests", msg.data))


# ---- the pipeline -------------------------------------------------------------------------
@registry.register_orchestration("Pipeline")
def pipeline(ctx: Any, task: str) -> Any:
    revision, rounds = 1, []
    while True:
        source = yield ctx.actor("Coder", "coder-1").request(
            {"task": task, "revision": revision})
        verdict = yield ctx.actor("Reviewer", "reviewer-1").request(
            {"code": source, "revision": revision})
        rounds.append(verdict["approved"])
        ctx.set_custom_status(f"review round {revision}: "
                              f"{'approved' if verdict['approved'] else 'changes requested'}")
        if verdict["approved"] or revision == 3:
            break
        revision += 1
    report = yield ctx.actor("Tester", "tester-1").request(source)
    return {"task": task, "rounds": rounds, "tests": report}


def build_runtime(db: str) -> Runtime:
    options = RuntimeOptions(worker_lock_timeout_ms=1000, orchestrator_lock_timeout_ms=1000)
    return Runtime(SqliteProvider.open(db), options, registry=registry)


def child(db: str) -> None:
    build_runtime(db).start()
    while True:  # work until killed
        time.sleep(1)


def reviews_done(client: Client) -> int:
    return int(client.actor("Reviewer", "reviewer-1").state().get("reviews", 0))


def parent() -> None:
    workdir = tempfile.mkdtemp(prefix="duroxide-ai-pipeline-")
    db = os.path.join(workdir, "app.db")
    client = Client(SqliteProvider.open(db))
    ids: List[str] = [f"pipeline-{i}" for i in range(len(TASKS))]
    for instance, task in zip(ids, TASKS):
        client.start_orchestration(instance, "Pipeline", task)

    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", db])
    deadline = time.time() + 30
    while reviews_done(client) < 2:
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit("the worker made no progress")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    print(f"killed the worker after {reviews_done(client)} reviews; "
          f"statuses: {[client.get_status(i).status for i in ids]}")

    runtime = build_runtime(db)
    runtime.start()
    try:
        for instance in ids:
            result = client.wait_for_orchestration(instance, 60000)
            assert result.status == "Completed", result.error
            out = result.output
            print(f"{instance}: '{out['task']}' approved after {len(out['rounds'])} round(s), "
                  f"tests passed: {out['tests']['passed']}")
        for actor_type, key in (("Coder", "coder-1"), ("Reviewer", "reviewer-1"),
                                ("Tester", "tester-1")):
            print(f"{actor_type} state: {client.actor(actor_type, key).state()}")
        print("actors:", [(a.actor_type, a.key, a.status) for a in client.list_actors()])
        assert client.actor("Reviewer", "reviewer-1").state()["reviews"] == 2 * len(TASKS)
        assert client.actor("Tester", "tester-1").state()["runs"] == len(TASKS)
        print("dead letters:", client.list_dead_letters())
    finally:
        runtime.shutdown(2000)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        parent()
