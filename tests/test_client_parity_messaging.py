"""ClientAPI parity (tests/test_client_parity.py): messages, topics, requests, dead letters and actor references.

The stack and fixtures are in tests/helpers/parity.py.
"""

from __future__ import annotations


import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
from duroxide.client.api import ClientAPI  # noqa: E402
from helpers.parity import (  # noqa: E402,F401  (fixtures are used by name)
    NEEDS_GPU, UGLY, WAIT, Stack, client, covers, kind, stack, subscribed, subscribed_to_queue,
    uid)
from helpers.util import wait_until  # noqa: E402


# ---- messaging -----------------------------------------------------------------------------------


@covers("send_message", "publish_event", "request", "list_topics", "get_topic")
def test_messages_topics_and_requests(client: ClientAPI, kind: str) -> None:
    instance_id, topic = uid(kind, "inbox"), f"news/{kind}/ä"
    client.start_orchestration(instance_id, "Inbox", topic)

    def has_subscriber() -> bool:
        try:
            return [s.instance_id for s in client.get_topic(topic).subscribers] == [instance_id]
        except duroxide.NotFoundError:
            return False
    assert wait_until(has_subscriber, 10)
    detail = client.get_topic(topic)
    assert isinstance(detail, duroxide.TopicDetail) and detail.topic == topic
    assert topic in {t.topic for t in client.list_topics()}
    with pytest.raises(duroxide.NotFoundError):
        client.get_topic(f"no-such-topic/{kind}")

    message_id = client.send_message(instance_id, "inbox", {"m": 1})
    assert isinstance(message_id, str) and message_id
    seq = client.publish_event(topic, "e")
    assert isinstance(seq, int) and seq >= 1
    assert client.request(instance_id, "double", 21, 10_000) == 42
    assert client.wait_for_orchestration(instance_id, WAIT).output == [{"m": 1}, "e"]
    with pytest.raises(duroxide.RequestFailedError):
        client.request(uid(kind, "never"), "double", 1, 5000)
    waiting = uid(kind, "inbox-2")
    client.start_orchestration(waiting, "Inbox", topic + "/2")
    with pytest.raises(duroxide.RequestTimedOutError):
        client.request(waiting, "double", 1, 300)
    client.cancel_instance(waiting)


@covers("list_dead_letters", "redeliver_dead_letter", "purge_dead_letters")
def test_dead_letters(client: ClientAPI, kind: str) -> None:
    ghost, late = uid(kind, "ghost"), uid(kind, "late")
    client.send_message(ghost, "inbox", 1)
    client.send_message(ghost, "inbox", 2)
    client.send_message(late, "inbox", {"late": True})
    assert wait_until(lambda: len(client.list_dead_letters(ghost)) == 2, 10)
    letters = client.list_dead_letters(ghost)
    assert all(isinstance(d, duroxide.DeadLetter) for d in letters)
    assert [(d.instance_id, d.queue, d.data) for d in letters] == [(ghost, "inbox", 1),
                                                                   (ghost, "inbox", 2)]
    assert client.purge_dead_letters(instance_id=ghost, ids=[letters[0].id]) == 1
    assert [d.data for d in client.list_dead_letters(ghost)] == [2]
    assert client.purge_dead_letters(instance_id=ghost) == 1

    assert wait_until(lambda: len(client.list_dead_letters(late)) == 1, 10)
    (letter,) = client.list_dead_letters(late)
    client.start_orchestration(late, "Inbox", f"late/{kind}")
    assert subscribed_to_queue(client, late)
    client.redeliver_dead_letter(letter.id)
    client.publish_event(f"late/{kind}", "e")
    client.request(late, "double", 1, 10_000)
    assert client.wait_for_orchestration(late, WAIT).output == [{"late": True}, "e"]
    assert client.list_dead_letters(late) == []
    with pytest.raises(duroxide.NotFoundError):
        client.redeliver_dead_letter(letter.id)




@covers("actor", "list_actors")
def test_actor_references(client: ClientAPI, kind: str) -> None:
    key = f"visits/{kind}/ä #1"
    ref = client.actor("Counter", key)
    expected = duroxide.AsyncActorRef if kind.startswith("async") else duroxide.ActorRef
    assert isinstance(getattr(ref, "wrapped", ref), expected)
    assert ref.instance_id == f"@actor/Counter/{key}"
    ref.send(2)
    assert ref.request(3, 10_000) == 5
    assert ref.state() == {"n": 5}
    actors = [a for a in client.list_actors("Counter") if a.key == key]
    assert [(a.actor_type, a.instance_id, a.status) for a in actors] == [
        ("Counter", ref.instance_id, "Running")]
    assert client.list_actors("NoSuchType") == []
    with pytest.raises(duroxide.InvalidArgumentError):
        client.actor("Bad/Type", "k")
