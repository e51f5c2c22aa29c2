"""Messaging between instances: point-to-point messages, dead letters, request/response
(docs/messaging.md). Every test runs on in-memory SQLite, file SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import pytest

import duroxide
from duroxide import Message, Request, RequestFailedError, RequestTimedOutError
from helpers.util import wait_done, wait_until


def _start_echo(runtime: Any) -> None:
    @runtime.register_orchestration("Echo")
    def echo(ctx: Any, n: int) -> Any:
        for _ in range(n):
            req = yield ctx.receive_request("echo")
            if req.data == "fail":
                ctx.reply_error(req, "asked to fail")
            else:
                ctx.reply(req, {"echo": req.data, "from": req.sender})
        return "served"


# ---- point to point ---------------------------------------------------------------------


def test_send_and_receive_in_order_with_metadata(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Receiver")
    def receiver(ctx: Any, n: int) -> Any:
        got = []
        for _ in range(n):
            msg = yield ctx.receive_message("inbox")
            assert isinstance(msg, Message)
            got.append([msg.data, msg.sender, msg.queue, msg.message_id is not None,
                        msg.sent_at_ms is not None, msg.topic])
        return got

    @runtime.register_orchestration("Sender")
    def sender(ctx: Any, n: int) -> Any:
        ids = [ctx.send_message("recv", "inbox", {"i": i}) for i in range(n)]
        yield ctx.schedule_timer(1)
        return len(set(ids))

    runtime.start()
    client.start_orchestration("recv", "Receiver", 6)
    client.start_orchestration("send", "Sender", 5)
    client.send_message("recv", "inbox", "from-client")
    assert wait_done(client, "send").output == 5
    result = wait_done(client, "recv")
    assert result.status == "Completed", result.error
    from_sender = [row for row in result.output if row[1] == "send"]
    assert [row[0] for row in from_sender] == [{"i": i} for i in range(5)]
    assert all(row[2:] == ["inbox", True, True, None] for row in result.output)
    from_client = [row for row in result.output if row[1] is None]
    assert [row[0] for row in from_client] == ["from-client"]


def test_dequeue_event_sees_sent_data_and_self_send(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("SelfSend")
    def self_send(ctx: Any, _: Any) -> Any:
        for i in range(3):
            ctx.send_message(ctx.instance_id, "me", i)
        a = yield ctx.dequeue_event("me")       # plain dequeue sees the bare data
        b = yield ctx.receive_message("me")
        c = yield ctx.receive_message("me")
        return [a, b.data, b.sender, c.data]

    runtime.start()
    client.start_orchestration("self", "SelfSend", None)
    result = wait_done(client, "self")
    assert result.status == "Completed", result.error
    assert result.output == [0, 1, "self", 2]


def test_receive_message_races_with_timer(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Racer")
    def racer(ctx: Any, _: Any) -> Any:
        first = yield ctx.race(ctx.receive_message("q"), ctx.schedule_timer(50))
        second = yield ctx.race(ctx.receive_message("q"), ctx.schedule_timer(10000))
        return [first["index"], second["index"], second["value"].data]

    runtime.start()
    client.start_orchestration("race", "Racer", None)
    time.sleep(0.5)
    client.send_message("race", "q", "late")
    result = wait_done(client, "race")
    assert result.status == "Completed", result.error
    assert result.output == [1, 0, "late"]


def test_bad_input_raises_at_the_call(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Bad")
    def bad(ctx: Any, _: Any) -> Any:
        errors = []
        for call in (lambda: ctx.send_message("x", "q", object()),
                     lambda: ctx.send_message("", "q", 1),
                     lambda: ctx.publish_event("t", {1, 2}),
                     lambda: ctx.request("x", "op", object())):
            try:
                call()
            except (TypeError, ValueError) as exc:
                errors.append(type(exc).__name__)
        yield ctx.schedule_timer(1)
        return errors

    runtime.start()
    client.start_orchestration("bad", "Bad", None)
    result = wait_done(client, "bad")
    assert result.status == "Completed", result.error
    assert result.output == ["TypeError", "InvalidArgumentError", "TypeError", "TypeError"]
    with pytest.raises(TypeError):
        client.send_message("bad", "q", object())
    with pytest.raises(duroxide.InvalidArgumentError):
        client.send_message("", "q", 1)
    with pytest.raises(duroxide.InvalidArgumentError):
        client.request("bad", "", 1)
    with pytest.raises(TypeError):
        client.publish_event("t", object())


# ---- dead letters -----------------------------------------------------------------------


def test_dead_letters_for_missing_and_completed_instances(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Quick")
    def quick(ctx: Any, _: Any) -> Any:
        ctx.send_message("nobody", "inbox", {"lost": True})
        return "done"
        yield  # noqa: unreachable - makes this a generator

    runtime.start()
    client.start_orchestration("quick", "Quick", None)
    assert wait_done(client, "quick").status == "Completed"
    client.send_message("quick", "inbox", "too late")
    assert wait_until(lambda: len(client.list_dead_letters()) == 2)
    letters = {d.instance_id: d for d in client.list_dead_letters()}
    assert letters["nobody"].data == {"lost": True}
    assert letters["nobody"].sender == "quick"
    assert "does not exist" in letters["nobody"].reason
    assert letters["quick"].data == "too late" and "completed" in letters["quick"].reason
    assert [d.id for d in client.list_dead_letters("quick")] == [letters["quick"].id]

    # Redelivery: once the recipient exists, the message reaches it.
    @runtime.register_orchestration("Inbox")
    def inbox(ctx: Any, _: Any) -> Any:
        msg = yield ctx.receive_message("inbox")
        return [msg.data, msg.sender]

    client.start_orchestration("nobody", "Inbox", None)
    client.redeliver_dead_letter(letters["nobody"].id)
    result = wait_done(client, "nobody")
    assert result.output == [{"lost": True}, "quick"]
    with pytest.raises(duroxide.NotFoundError):
        client.redeliver_dead_letter(letters["nobody"].id)
    assert client.purge_dead_letters() == 1
    assert client.list_dead_letters() == []


# ---- request / response -----------------------------------------------------------------


def test_request_reply_and_error_reply(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    _start_echo(runtime)

    @runtime.register_orchestration("Caller")
    def caller(ctx: Any, _: Any) -> Any:
        ok = yield ctx.request("echo", "echo", "hi", timeout_ms=10000)
        try:
            yield ctx.request("echo", "echo", "fail", timeout_ms=10000)
            failed = None
        except RequestFailedError as exc:
            failed = str(exc)
        return [ok, failed]

    runtime.start()
    client.start_orchestration("echo", "Echo", 3)
    client.start_orchestration("caller", "Caller", None)
    result = wait_done(client, "caller")
    assert result.status == "Completed", result.error
    assert result.output[0] == {"echo": "hi", "from": "caller"}
    assert "asked to fail" in result.output[1]
    assert client.request("echo", "echo", "direct", 10000) == {"echo": "direct", "from": None}
    assert wait_done(client, "echo").output == "served"


def test_request_to_missing_or_finished_instance_fails(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("AskNobody")
    def ask(ctx: Any, _: Any) -> Any:
        try:
            yield ctx.request("ghost", "op", 1, timeout_ms=20000)
        except RequestFailedError as exc:
            return str(exc)
        return "no error"

    runtime.start()
    client.start_orchestration("ask", "AskNobody", None)
    result = wait_done(client, "ask")
    assert result.status == "Completed", result.error
    assert "does not exist" in result.output
    with pytest.raises(RequestFailedError, match="does not exist"):
        client.request("ghost2", "op", None, 20000)


def test_request_timeout_and_late_reply_dropped(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Slow")
    def slow(ctx: Any, _: Any) -> Any:
        req = yield ctx.receive_request()
        yield ctx.schedule_timer(600)
        ctx.reply(req, "late")
        req2 = yield ctx.receive_request()
        ctx.reply(req2, "second")
        return req.operation

    @runtime.register_orchestration("Impatient")
    def impatient(ctx: Any, _: Any) -> Any:
        try:
            yield ctx.request("slow", "work", None, timeout_ms=200)
            first = "replied"
        except RequestTimedOutError:
            first = "timed out"
        yield ctx.schedule_timer(800)  # the late reply arrives meanwhile and is dropped
        second = yield ctx.request("slow", "again", None, timeout_ms=10000)
        return [first, second]

    @runtime.register_orchestration("Silent")
    def silent(ctx: Any, _: Any) -> Any:
        yield ctx.wait_for_event("never")

    runtime.start()
    client.start_orchestration("slow", "Slow", None)
    client.start_orchestration("impatient", "Impatient", None)
    client.start_orchestration("silent", "Silent", None)
    result = wait_done(client, "impatient")
    assert result.status == "Completed", result.error
    assert result.output == ["timed out", "second"]
    assert issubclass(RequestTimedOutError, TimeoutError)
    assert issubclass(RequestTimedOutError, duroxide.DuroxideError)
    assert issubclass(RequestFailedError, duroxide.DuroxideError)
    assert wait_done(client, "slow").output == "work"
    with pytest.raises(RequestTimedOutError):
        client.request("silent", "nobody-answers", None, 100)


def test_replies_matched_by_id_under_concurrency(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Server")
    def server(ctx: Any, n: int) -> Any:
        pending: List[Request] = []
        for _ in range(n):
            pending.append((yield ctx.receive_request("square")))
        for req in reversed(pending):  # answer in the opposite order
            ctx.reply(req, req.data * req.data)
        return n

    @runtime.register_orchestration("FanOutCaller")
    def fan_out(ctx: Any, n: int) -> Any:
        results = yield ctx.all([ctx.request("server", "square", i, 20000) for i in range(n)])
        return [r["ok"] for r in results]

    runtime.start()
    client.start_orchestration("server", "Server", 8)
    client.start_orchestration("fan", "FanOutCaller", 4)
    answers: Dict[int, Any] = {}

    def ask(i: int) -> None:
        answers[i] = client.request("server", "square", 10 + i, 20000)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = wait_done(client, "fan")
    assert result.status == "Completed", result.error
    assert result.output == [0, 1, 4, 9]
    assert answers == {i: (10 + i) ** 2 for i in range(4)}


def test_messages_survive_continue_as_new(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Rolling")
    def rolling(ctx: Any, state: Any) -> Any:
        seen = list(state or [])
        msg = yield ctx.receive_message("in")
        seen.append([msg.data, msg.sender])
        if len(seen) < 4:
            yield ctx.continue_as_new(seen)
        return seen

    runtime.start()
    client.start_orchestration("roll", "Rolling", None)
    for i in range(4):
        client.send_message("roll", "in", i)
    result = wait_done(client, "roll")
    assert result.status == "Completed", result.error
    assert result.output == [[i, None] for i in range(4)]


from helpers.styles import add_async_variants  # noqa: E402

add_async_variants(globals())
