"""Event queues: FIFO delivery, buffering before a dequeue or a subscription, independent
queues, carry-forward across continue-as-new and its cap, and wait_for_event next to queues
(api.md 1.9).

Every test runs on each provider of the `env` fixture, unless it asks for `file_env`.
"""

from __future__ import annotations

import json
import time

from helpers.util import wait_done, wait_until


# ---- event queues ---------------------------------------------------------------------------


def _wait_status(client, instance_id, expected, timeout_ms=10000):
    deadline = time.monotonic() + timeout_ms / 1000
    version = 0
    while time.monotonic() < deadline:
        result = client.wait_for_status_change(instance_id, version, 20, 1000)
        if result is None:
            continue
        if result.custom_status == expected:
            return result
        version = result.custom_status_version
        if result.status != "Running":
            break
    raise AssertionError(f"{instance_id} never reported status {expected!r}")


def test_queue_fifo_and_buffered_before_dequeue(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Drain")
    def drain(ctx, n):
        ctx.set_custom_status("busy")
        yield ctx.wait_for_event("go")  # messages arrive while we wait for something else
        got = []
        for _ in range(n):
            got.append((yield ctx.dequeue_event("jobs")))
        return got

    runtime.start()
    client.start_orchestration("q-1", "Drain", 6)
    _wait_status(client, "q-1", "busy")
    for i in range(4):
        client.enqueue_event("q-1", "jobs", {"job": i})
    client.raise_event("q-1", "go")
    client.enqueue_event("q-1", "jobs", "text")
    client.enqueue_event("q-1", "jobs", None)
    result = wait_done(client, "q-1")
    assert result.status == "Completed", result.error
    assert result.output == [{"job": 0}, {"job": 1}, {"job": 2}, {"job": 3}, "text", None]


def test_queue_message_sent_before_subscription_is_buffered(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Later")
    def later(ctx, _):
        ctx.set_custom_status("sleeping")
        yield ctx.schedule_timer(300)
        winner = yield ctx.race(ctx.dequeue_event("inbox"), ctx.schedule_timer(5000))
        return winner

    runtime.start()
    client.start_orchestration("q-2", "Later")
    _wait_status(client, "q-2", "sleeping")
    client.enqueue_event("q-2", "inbox", {"early": True})
    result = wait_done(client, "q-2")
    assert result.output == {"index": 0, "value": {"early": True}}


def test_queues_are_independent(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("MultiQueue")
    def multi_queue(ctx, input):
        ctx.set_custom_status("ready")
        yield ctx.wait_for_event("go")
        config = yield ctx.dequeue_event("config")
        command1 = yield ctx.dequeue_event("commands")
        command2 = yield ctx.dequeue_event("commands")
        idle = yield ctx.race(ctx.dequeue_event("other"), ctx.schedule_timer(200))
        return {"config": config, "commands": [command1, command2], "idle": idle["index"]}

    runtime.start()
    client.start_orchestration("q-3", "MultiQueue")
    _wait_status(client, "q-3", "ready")
    client.enqueue_event("q-3", "commands", "c1")
    client.enqueue_event("q-3", "config", {"v": 1})
    client.enqueue_event("q-3", "commands", "c2")
    client.raise_event("q-3", "go")
    result = wait_done(client, "q-3")
    assert result.status == "Completed", result.error
    assert result.output == {"config": {"v": 1}, "commands": ["c1", "c2"], "idle": 1}


def test_unconsumed_messages_survive_continue_as_new_in_order(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Consumer")
    def consumer(ctx, state):
        if ctx.execution_id == 1:
            ctx.set_custom_status("ready")
            yield ctx.wait_for_event("go")
        a = yield ctx.dequeue_event("a")
        state["a"].append(a)
        if len(state["a"]) == 2:
            state["b"].append((yield ctx.dequeue_event("b")))
        if len(state["a"]) < 5:
            yield ctx.continue_as_new(state)
        state["b"].append((yield ctx.dequeue_event("b")))
        state["executions"] = ctx.execution_id
        return state

    runtime.start()
    client.start_orchestration("q-4", "Consumer", {"a": [], "b": []})
    _wait_status(client, "q-4", "ready")
    for i in range(5):
        client.enqueue_event("q-4", "a", f"a{i}")
        client.enqueue_event("q-4", "b", f"b{i}")
    client.raise_event("q-4", "go")
    result = wait_done(client, "q-4")
    assert result.status == "Completed", result.error
    assert result.output == {"a": ["a0", "a1", "a2", "a3", "a4"], "b": ["b0", "b1"],
                             "executions": 5}
    # what execution 5 started with: everything not yet consumed, in arrival order across
    # both queues (b1..b4 were carried through up to four continue-as-new)
    history = client.read_execution_history("q-4", 5)
    carried = [(json.loads(e.data)["name"], json.loads(e.data)["data"])
               for e in history if e.kind == "QueueEventDelivered"]
    assert carried == [("b", "b1"), ("b", "b2"), ("b", "b3"), ("a", "a4"), ("b", "b4")]


def test_wait_for_event_keeps_single_event_semantics(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Signals")
    def signals(ctx, _):
        ctx.set_custom_status("gate")
        yield ctx.wait_for_event("gate")
        # "x" was raised before this wait existed: dropped. "y" was enqueued: buffered.
        x = yield ctx.race(ctx.wait_for_event("x"), ctx.schedule_timer(300))
        y = yield ctx.race(ctx.dequeue_event("y"), ctx.schedule_timer(3000))
        # an enqueued message never satisfies wait_for_event, nor a raised event a dequeue
        z = yield ctx.race(ctx.wait_for_event("y"), ctx.schedule_timer(300))
        w = yield ctx.race(ctx.dequeue_event("x"), ctx.schedule_timer(300))
        return [x["index"], y, z["index"], w["index"]]

    runtime.start()
    client.start_orchestration("ev-1", "Signals")
    _wait_status(client, "ev-1", "gate")
    client.raise_event("ev-1", "x", "raised too early")
    client.enqueue_event("ev-1", "y", "queued early")
    client.raise_event("ev-1", "gate")
    result = wait_done(client, "ev-1")
    assert result.status == "Completed", result.error
    assert result.output == [1, {"index": 0, "value": "queued early"}, 1, 1]


def test_copilot_chat_bot_from_the_guide(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("Generate")
    def generate(ctx, text):
        # Call an LLM or generate a response
        return f"Echo: {text}"

    @runtime.register_orchestration("ChatBot")
    def chat_bot(ctx, input):
        # Wait for next message on the "inbox" queue
        msg_json = yield ctx.dequeue_event("inbox")
        msg = json.loads(msg_json)

        # Process the message
        response = yield ctx.schedule_activity("Generate", msg["text"])

        # Report the response via custom status
        ctx.set_custom_status(json.dumps({
            "state": "replied",
            "response": response,
            "seq": msg["seq"],
        }))

        # Exit on "bye", otherwise loop
        if "bye" in msg["text"].lower():
            return f"Done after {msg['seq']} msgs"

        # Restart with fresh history (messages survive continue-as-new)
        return (yield ctx.continue_as_new(""))

    runtime.start()

    # --- client side, as in the guide ---
    client.start_orchestration("chat-1", "ChatBot", "")
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 1, "text": "Hello!"}))
    status = client.wait_for_status_change("chat-1", 0, 50, 10000)
    reply = json.loads(status.custom_status)
    assert reply == {"state": "replied", "response": "Echo: Hello!", "seq": 1}

    # two messages in a row: the second waits in the queue across continue-as-new
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 2, "text": "How are you?"}))
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 3, "text": "Still there?"}))
    version = status.custom_status_version
    assert version == 1
    while version < 3:
        status = client.wait_for_status_change("chat-1", version, 50, 10000)
        assert status is not None and status.status == "Running"
        version = status.custom_status_version
    assert version == 3
    assert json.loads(status.custom_status) == {
        "state": "replied", "response": "Echo: Still there?", "seq": 3}

    # End the conversation
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 4, "text": "Bye!"}))
    result = wait_done(client, "chat-1")
    assert result.status == "Completed", result.error
    assert result.output == "Done after 4 msgs"
    assert json.loads(result.custom_status)["response"] == "Echo: Bye!"
    assert result.custom_status_version == 4
    assert client.list_executions("chat-1") == [1, 2, 3, 4]


def test_carry_forward_cap_drops_surplus_with_a_warning(env, capfd, caplog):
    provider, client, make_runtime = env
    runtime = make_runtime()
    cap = 1024  # documented in the user guide (section 14)

    @runtime.register_orchestration("Hoarder")
    def hoarder(ctx, _):
        if ctx.execution_id == 1:
            ctx.set_custom_status("ready")
            yield ctx.wait_for_event("go")
            yield ctx.continue_as_new(None)
        first = yield ctx.dequeue_event("q")
        return first

    runtime.start()
    client.start_orchestration("cap-1", "Hoarder")
    _wait_status(client, "cap-1", "ready")
    for i in range(cap + 3):
        client.enqueue_event("cap-1", "q", i)
    client.raise_event("cap-1", "go")
    result = wait_done(client, "cap-1", 30000)
    assert result.status == "Completed", result.error
    assert result.output == 0
    history = client.read_execution_history("cap-1", 2)
    carried = [json.loads(e.data)["data"] for e in history
               if e.kind == "QueueEventDelivered"]
    assert carried == list(range(cap))  # oldest first, the 3 newest dropped
    # By default runtime warnings go to Python logging (logger duroxide.runtime); if another
    # test of this process selected the native log, they are on stderr.
    import duroxide.worker.logging

    duroxide.worker.logging.flush()
    wait_until(lambda: len([r for r in caplog.records if "carry-forward cap reached"
                            in r.getMessage()]) >= 3, timeout_s=5)
    logged = [{"level": "WARN" if r.levelname == "WARNING" else r.levelname,
               "target": r.name.replace(".", "::"), "message": r.getMessage(),
               "fields": dict(getattr(r, "duroxide_fields", {}))}
              for r in caplog.records if r.name.startswith("duroxide")]
    drops = [r for r in _log_records(capfd.readouterr().err) + logged
             if "carry-forward cap reached" in r["message"]]
    assert len(drops) == 3
    for r in drops:
        assert r["level"] == "WARN" and r["target"] == "duroxide::runtime"
        assert r["fields"]["instance_id"] == "cap-1" and r["fields"]["queue"] == "q"
        assert r["fields"]["cap"] == str(cap)
    # ... and counted.
    assert runtime.metrics_snapshot()["dropped_messages"] >= 3


def _log_records(text):
    """Parses stderr log output in any of the three formats (another test of this process may
    have switched the process-wide format)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            rec = json.loads(line)
            records.append({k: rec[k] for k in ("level", "target", "message", "fields")})
        elif line.startswith("    ") and records and ": " in line:
            key, value = line.strip().split(": ", 1)  # pretty: one field per indented line
            records[-1]["fields"][key] = value
        elif " duroxide::" in line and ": " in line:
            head, rest = line.split(": ", 1)
            parts = head.split()
            fields = {}
            while " " in rest and "=" in rest.rsplit(" ", 1)[1]:  # compact: trailing k=v
                rest, pair = rest.rsplit(" ", 1)
                key, value = pair.split("=", 1)
                fields[key] = value
            records.append({"level": parts[-2], "target": parts[-1], "message": rest,
                            "fields": fields})
    return records
