"""One validation for every payload path, strict JSON, and ids (issue 21 items 3 and 4).

Every test runs on in-memory SQLite, file SQLite and PostgreSQL: a refused call must write
nothing, whichever store is behind it.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import duroxide
from duroxide import Client, InvalidArgumentError, InvalidTypeError
from helpers.util import wait_done

SMALL = 4096
BIG = "x" * (SMALL + 1)


def _orchestrator_depth(client: Client) -> int:
    return int(client.get_queue_depths().orchestrator_queue)


# ---- the payload limit on every client send ----------------------------------------------------


@pytest.mark.parametrize("call", ["send_message", "publish_event", "request", "actor_send",
                                  "raise_event", "enqueue_event", "start"])
def test_client_sends_over_the_limit_are_refused_before_writing(env: Any, call: str) -> None:
    client = Client(env.provider, max_payload_bytes=SMALL)
    depth = _orchestrator_depth(client)
    calls = {
        "send_message": lambda: client.send_message("target", "inbox", BIG),
        "publish_event": lambda: client.publish_event("news", BIG),
        "request": lambda: client.request("target", "op", BIG, 200),
        "actor_send": lambda: client.actor("Counter", "k").send(BIG),
        "raise_event": lambda: client.raise_event("target", "go", BIG),
        "enqueue_event": lambda: client.enqueue_event("target", "inbox", BIG),
        "start": lambda: client.start_orchestration("target", "Anything", BIG),
    }
    with pytest.raises(InvalidArgumentError, match="over the payload limit"):
        calls[call]()
    assert _orchestrator_depth(client) == depth
    assert client.list_topics() == []
    assert client.get_status("target").status == "NotFound"


def test_default_limit_applies_to_messaging(env: Any) -> None:
    big = "y" * (duroxide.MAX_PAYLOAD_BYTES + 1)
    with pytest.raises(InvalidArgumentError, match="send_message data"):
        env.client.send_message("t", "q", big)
    with pytest.raises(InvalidArgumentError, match="publish_event data"):
        env.client.publish_event("t", big)
    assert _orchestrator_depth(env.client) == 0


# ---- the payload limit on every orchestration send ----------------------------------------------


def test_orchestration_sends_over_the_limit_fail_the_instance_and_write_nothing(env: Any) -> None:
    rt = env.make_runtime(max_payload_bytes=SMALL)
    received = []

    @rt.register_orchestration("Sink")
    def sink(ctx: Any, _: Any) -> Any:
        msg = yield ctx.receive_message("inbox")
        received.append(msg.data)
        return "got"

    @rt.register_orchestration("BigSend")
    def big_send(ctx: Any, kind: str) -> Any:
        if kind == "send":
            ctx.send_message("sink", "inbox", BIG)
        elif kind == "publish":
            ctx.publish_event("news", BIG)
        elif kind == "actor":
            ctx.actor("Counter", "k").send(BIG)
        else:
            yield ctx.request("sink", "op", BIG, 1000)
        yield ctx.schedule_timer(1)
        return "sent"

    rt.start()
    env.client.start_orchestration("sink", "Sink", None)
    for kind in ("send", "publish", "actor", "request"):
        env.client.start_orchestration(f"big-{kind}", "BigSend", kind)
        result = wait_done(env.client, f"big-{kind}")
        assert result.status == "Failed", (kind, result.output)
        assert "payload limit" in (result.error or ""), result.error
        events = env.client.read_execution_history(f"big-{kind}", 1)
        assert not [e for e in events if e.kind in ("MessageSent", "EventPublished")], kind
    assert env.client.get_status("sink").status == "Running" and received == []
    assert env.client.list_topics() == [] or all(t.last_seq == 0 for t in env.client.list_topics())


def test_orchestration_reply_over_the_limit_fails_the_replier(env: Any) -> None:
    rt = env.make_runtime(max_payload_bytes=SMALL)

    @rt.register_orchestration("Server")
    def server(ctx: Any, _: Any) -> Any:
        req = yield ctx.receive_request("op")
        ctx.reply(req, BIG)
        yield ctx.schedule_timer(1)
        return "replied"

    rt.start()
    env.client.start_orchestration("server", "Server", None)
    with pytest.raises(duroxide.DuroxideError):
        env.client.request("server", "op", "small", 3000)
    result = wait_done(env.client, "server")
    assert result.status == "Failed" and "payload limit" in (result.error or "")


# ---- strict JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("value, where", [
    (math.nan, "NaN at $"),
    (math.inf, "Infinity at $"),
    ({"a": [1, -math.inf]}, "-Infinity at $.a[1]"),
    ([{"deep": {"x": math.nan}}], "NaN at $[0].deep.x"),
])
def test_non_finite_numbers_are_refused_naming_where(env: Any, value: Any, where: str) -> None:
    client = env.client
    calls = [
        ("start_orchestration input", lambda: client.start_orchestration("j", "X", value)),
        ("raise_event data", lambda: client.raise_event("j", "e", value)),
        ("enqueue_event data", lambda: client.enqueue_event("j", "q", value)),
        ("send_message data", lambda: client.send_message("j", "q", value)),
        ("publish_event data", lambda: client.publish_event("t", value)),
        ("request data", lambda: client.request("j", "op", value, 100)),
    ]
    for what, call in calls:
        with pytest.raises(InvalidArgumentError) as info:
            call()
        assert what in str(info.value) and where in str(info.value), str(info.value)
    assert _orchestrator_depth(client) == 0
    assert client.get_status("j").status == "NotFound"


def test_non_finite_results_fail_readably(env: Any) -> None:
    rt = env.make_runtime()

    @rt.register_activity("Nan")
    def nan_activity(ctx: Any, _: Any) -> Any:
        return {"v": math.nan}

    @rt.register_orchestration("CallsNan")
    def calls_nan(ctx: Any, _: Any) -> Any:
        value = yield ctx.schedule_activity("Nan", None)
        return value

    @rt.register_orchestration("ReturnsInf")
    def returns_inf(ctx: Any, _: Any) -> Any:
        yield ctx.schedule_timer(1)
        return [math.inf]

    rt.start()
    env.client.start_orchestration("nan", "CallsNan", None)
    env.client.start_orchestration("inf", "ReturnsInf", None)
    nan = wait_done(env.client, "nan")
    assert nan.status == "Failed" and "NaN at $.v" in (nan.error or ""), nan.error
    inf = wait_done(env.client, "inf")
    assert inf.status == "Failed" and "Infinity at $[0]" in (inf.error or ""), inf.error


# ---- ids and names -------------------------------------------------------------------------------

BAD_TEXT = ["a\x85b", "line\u2028sep", "para\u2029sep", "lone\ud800", "zero\u200bwidth",
            "bom\ufeff", "rtl\u202eoverride", "nul\x00", "del\x7f", "non\uffffchar",
            "nbsp\u00a0space", "soft\u00adhyphen", "private\ue000use"]


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_forbidden_characters_in_ids_and_names(env: Any, bad: str) -> None:
    client = env.client
    calls = [
        lambda: client.start_orchestration(bad, "X", None),
        lambda: client.start_orchestration("ok", bad, None),
        lambda: client.raise_event(bad, "e", 1),
        lambda: client.raise_event("ok", bad, 1),
        lambda: client.enqueue_event("ok", bad, 1),
        lambda: client.send_message(bad, "q", 1),
        lambda: client.send_message("ok", bad, 1),
        lambda: client.publish_event(bad, 1),
        lambda: client.request(bad, "op", 1, 100),
        lambda: client.request("ok", bad, 1, 100),
        lambda: client.get_status(bad),
        lambda: client.cancel_instance(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError, match="control character"):
            call()
    assert _orchestrator_depth(client) == 0 and client.list_all_instances() == []


def test_allowed_unicode_ids_still_work(env: Any) -> None:
    rt = env.make_runtime()
    rt.register_orchestration("Echo", lambda ctx, x: x)
    rt.start()
    for iid in ("Zählung-✓", "@actor/Counter/visits", "family-\U0001F468\u200d\U0001F469",
                "50% #1?", "a" * 256):
        env.client.start_orchestration(iid, "Echo", iid[:5])
        assert wait_done(env.client, iid).output == iid[:5]


@pytest.mark.parametrize("bad", [b"bytes-id", 42, 4.5, ["x"]])
def test_non_str_ids_are_invalid_type_naming_the_parameter(env: Any, bad: Any) -> None:
    client = env.client
    for call, param in [
        (lambda: client.start_orchestration(bad, "X", None), "instance_id"),
        (lambda: client.start_orchestration("ok", bad, None), "name"),
        (lambda: client.get_status(bad), "instance_id"),
        (lambda: client.raise_event("ok", bad), "event_name"),
        (lambda: client.send_message("ok", bad, 1), "queue"),
        (lambda: client.publish_event(bad, 1), "topic"),
        (lambda: client.get_kv_value("ok", bad), "key"),
        (lambda: client.cancel_instance("ok", bad), "reason"),
    ]:
        with pytest.raises(InvalidTypeError) as info:
            call()
        text = str(info.value)
        assert param in text and "incompatible function arguments" not in text, text
    assert client.list_all_instances() == []


@pytest.mark.parametrize("value, error", [(2**63, InvalidArgumentError),
                                          (-(2**63) - 1, InvalidArgumentError),
                                          (10**30, InvalidArgumentError),
                                          ("5", InvalidTypeError), (True, InvalidTypeError),
                                          (1.5, InvalidTypeError)])
def test_integers_out_of_range_or_of_the_wrong_type(env: Any, value: Any, error: type) -> None:
    client = env.client
    for call, param in [
        (lambda: client.wait_for_orchestration("x", value), "timeout_ms"),
        (lambda: client.get_execution_info("x", value), "execution_id"),
        (lambda: client.read_execution_history("x", value), "execution_id"),
        (lambda: client.redeliver_dead_letter(value), "id"),
        (lambda: client.purge_dead_letters(before_ms=value), "before_ms"),
        (lambda: client.purge_dead_letters(ids=[1, value]), "ids[1]"),
        (lambda: client.wait_for_status_change("x", value, 10, 10), "last_seen_version"),
    ]:
        with pytest.raises(error) as info:
            call()
        text = str(info.value)
        assert param in text and "incompatible" not in text and "0x" not in text, text


def test_option_classes_check_their_arguments() -> None:
    for make, param, error in [
        (lambda: duroxide.InstanceFilter(limit=2**70), "limit", InvalidArgumentError),
        (lambda: duroxide.InstanceFilter(completed_before="x"), "completed_before",
         InvalidTypeError),
        (lambda: duroxide.InstanceFilter(instance_ids="abc"), "instance_ids", InvalidTypeError),
        (lambda: duroxide.InstanceFilter(instance_ids=[b"x"]), "instance_ids[0]",
         InvalidTypeError),
        (lambda: duroxide.InstanceFilter(instance_ids=["a\x85"]), "instance_ids[0]",
         InvalidArgumentError),
        (lambda: duroxide.PruneOptions(keep_last=2**64), "keep_last", InvalidArgumentError),
        (lambda: duroxide.PruneOptions(completed_before=1.5), "completed_before",
         InvalidTypeError),
    ]:
        with pytest.raises(error) as info:
            make()
        assert param in str(info.value) and "incompatible" not in str(info.value)
    flt = duroxide.InstanceFilter(instance_ids=["a"], completed_before=5, limit=3)
    assert isinstance(flt, duroxide._core.InstanceFilter) and flt.limit == 3


def test_async_client_refuses_the_same_arguments(env: Any) -> None:
    """AsyncClient's generated twins call Client; its hand-written waits are checked too."""
    import asyncio

    from duroxide.client.aio import AsyncClient

    async def run() -> None:
        client = AsyncClient(env.provider)
        try:
            with pytest.raises(InvalidTypeError, match="instance_id"):
                await client.get_status(b"x")
            with pytest.raises(InvalidTypeError, match="instance_id"):
                await client.wait_for_orchestration(b"x", 100)
            with pytest.raises(InvalidArgumentError, match="timeout_ms"):
                await client.wait_for_orchestration("x", 2**70)
            with pytest.raises(InvalidArgumentError, match="control character"):
                await client.wait_for_kv_value("x", "k\u2028", 100)
            with pytest.raises(InvalidArgumentError, match=r"NaN at \$"):
                await client.send_message("x", "q", math.nan)
        finally:
            await client.close()

    asyncio.run(run())
