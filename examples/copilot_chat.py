"""The user guide's "Copilot Chat Bot": event queues + custom status + continue-as-new.

The bot handles one message per execution: it dequeues the next message from the "inbox"
queue, generates a reply in an activity, publishes the reply as its custom status, and
restarts itself with continue_as_new so that its history never grows. Messages sent while it
is busy wait in the queue, and survive the continue-as-new, in order.

    PYTHONPATH=python python3 examples/copilot_chat.py
"""

import json
from typing import Any

from duroxide import ActivityContext, Client, OrchestrationContext, Runtime, SqliteProvider

provider = SqliteProvider.in_memory()
client = Client(provider)
runtime = Runtime(provider)


@runtime.register_activity("Generate")
def generate(ctx: ActivityContext, text: Any) -> Any:
    # Call an LLM or generate a response
    return f"Echo: {text}"


@runtime.register_orchestration("ChatBot")
def chat_bot(ctx: OrchestrationContext, input: Any) -> Any:
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
try:
    client.start_orchestration("chat-1", "ChatBot", "")

    # One message, one reply: wait for the custom status to change.
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 1, "text": "Hello!"}))
    status = client.wait_for_status_change("chat-1", 0, 50, 10000)
    assert status is not None and status.custom_status is not None  # None: timed out
    reply = json.loads(status.custom_status)
    print(f"you: Hello!          bot: {reply['response']}   (status version "
          f"{status.custom_status_version})")

    # Several messages at once: they queue up and are answered in order, one execution each.
    questions = ["How are you?", "What is duroxide?", "Still there?"]
    for seq, text in enumerate(questions, start=2):
        client.enqueue_event("chat-1", "inbox", json.dumps({"seq": seq, "text": text}))
    version = status.custom_status_version
    while version < 1 + len(questions):
        status = client.wait_for_status_change("chat-1", version, 50, 10000)
        if status is None:
            raise TimeoutError("the bot stopped answering")
        version = status.custom_status_version
        reply = json.loads(status.custom_status or "{}")
        # Replies can be committed faster than we poll: we may skip intermediate versions.
        print(f"bot replied to message {reply['seq']}: {reply['response']}   "
              f"(status version {version})")

    # End the conversation
    client.enqueue_event("chat-1", "inbox", json.dumps({"seq": 5, "text": "Bye!"}))
    result = client.wait_for_orchestration("chat-1", 10000)
    print("final:", result.status, "|", result.output, "| last reply:",
          json.loads(result.custom_status or "{}")["response"])
    print("executions (one per message):", client.list_executions("chat-1"))
finally:
    runtime.shutdown(2000)
