"""Multi-agent collaboration: agents exchange messages and react to published events.

The seed's in-memory multi-agent example, redone durably (docs/messaging.md). A
"Coordinator" orchestration wakes two agents (actors) with a request, then publishes one
event per topic on the "topics" topic. The Researcher agent reacts to each event: it
researches (an activity standing in for a model call) and sends its notes to the Writer
agent. The Writer drafts an article (another activity) and sends it to the Coordinator's
"drafts" queue. When all drafts are in, the Coordinator publishes "wrap-up", which both
agents count.

The worker runs in a child process that is killed with SIGKILL midway; a fresh worker in this
process finishes: no event is missed or handled twice, no message is lost.

    PYTHONPATH=python python3 examples/multi_agent.py
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

SUBJECTS = ["durable execution", "event sourcing", "actor model", "sagas"]
COORDINATOR = "coordinator"
registry = Registry()


@registry.register_activity("Research")
def research(ctx: Any, subject: str) -> List[str]:
    time.sleep(0.15)
    return [f"{subject}: fact {i}" for i in range(1, 3)]


@registry.register_activity("Draft")
def draft(ctx: Any, notes: Dict[str, Any]) -> str:
    time.sleep(0.15)
    return f"# {notes['subject'].title()}\n" + "\n".join(f"- {n}" for n in notes["facts"])


researcher = registry.register_actor("Researcher")
writer = registry.register_actor("Writer")


@researcher.on_message
def researcher_hello(ctx: Any, state: Dict[str, Any], msg: Any) -> str:
    return "researcher ready"


@researcher.on_event("topics")
def on_topic(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
    facts = yield ctx.schedule_activity("Research", msg.data)
    state["researched"] = state.get("researched", []) + [msg.data]
    ctx.actor("Writer", "w-1").send({"subject": msg.data, "facts": facts})


@researcher.on_event("wrap-up")
def researcher_wrap(ctx: Any, state: Dict[str, Any], msg: Any) -> None:
    state["wrapped"] = True


@writer.on_message
def on_notes(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
    if msg.data == "hello":
        return "writer ready"
    article = yield ctx.schedule_activity("Draft", msg.data)
    state["drafts"] = state.get("drafts", 0) + 1
    ctx.send_message(COORDINATOR, "drafts", {"subject": msg.data["subject"], "text": article})
    return None


@writer.on_event("wrap-up")
def writer_wrap(ctx: Any, state: Dict[str, Any], msg: Any) -> None:
    state["wrapped"] = True


@registry.register_orchestration("Coordinator")
def coordinator(ctx: Any, subjects: List[str]) -> Any:
    # A reply means the agent's first turn (and its subscriptions) committed.
    ready = yield ctx.all([ctx.actor("Researcher", "r-1").request("hello"),
                           ctx.actor("Writer", "w-1").request("hello")])
    for subject in subjects:
        ctx.publish_event("topics", subject)
    articles: Dict[str, Any] = {}
    while len(articles) < len(subjects):
        msg = yield ctx.receive_message("drafts")
        articles[msg.data["subject"]] = {"text": msg.data["text"], "from": msg.sender}
        ctx.set_custom_status(f"{len(articles)}/{len(subjects)} drafts")
    ctx.publish_event("wrap-up", len(articles))
    return {"ready": [r["ok"] for r in ready], "articles": articles}


def build_runtime(db: str) -> Runtime:
    options = RuntimeOptions(worker_lock_timeout_ms=1000, orchestrator_lock_timeout_ms=1000)
    return Runtime(SqliteProvider.open(db), options, registry=registry)


def child(db: str) -> None:
    build_runtime(db).start()
    while True:  # work until killed
        time.sleep(1)


def parent() -> None:
    workdir = tempfile.mkdtemp(prefix="duroxide-multi-agent-")
    db = os.path.join(workdir, "app.db")
    client = Client(SqliteProvider.open(db))
    client.start_orchestration(COORDINATOR, "Coordinator", SUBJECTS)
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", db])
    deadline = time.time() + 30
    while (client.get_status(COORDINATOR).custom_status or "") < "1/":
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit("the worker made no progress")
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    print(f"killed the worker at '{client.get_status(COORDINATOR).custom_status}'")

    runtime = build_runtime(db)
    runtime.start()
    try:
        result = client.wait_for_orchestration(COORDINATOR, 60000)
        assert result.status == "Completed", result.error
        print("agents:", result.output["ready"])
        for subject, article in result.output["articles"].items():
            print(f"--- {subject} (from {article['from']})\n{article['text']}")
        r = client.actor("Researcher", "r-1")
        w = client.actor("Writer", "w-1")
        deadline = time.time() + 10
        while not (r.state().get("wrapped") and w.state().get("wrapped")):
            assert time.time() < deadline, "the agents never saw the wrap-up event"
            time.sleep(0.05)
        print("researcher state:", r.state())
        print("writer state:", w.state())
        assert sorted(r.state()["researched"]) == sorted(SUBJECTS)  # each event handled once
        assert w.state()["drafts"] == len(SUBJECTS)
        print("topics:", [(t.topic, t.subscribers, t.backlog) for t in client.list_topics()])
    finally:
        runtime.shutdown(2000)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        parent()
