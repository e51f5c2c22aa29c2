"""Replay-safe orchestrations: the linter reports nothing here."""
import json
import random
import time

import duroxide

reg = duroxide.Registry()


@reg.register_activity("Roll")
def roll(ctx, sides):
    # Activities may do anything: they run once and their result is recorded.
    random.seed(time.time())
    print("rolling")
    return random.randint(1, sides)


def describe(order):
    return json.dumps({"id": order["id"], "items": sorted(order["items"])})


@reg.register_orchestration("Order")
def order(ctx, input):
    now_ms = yield ctx.utc_now()
    guid = yield ctx.new_guid()
    ctx.trace_info("processing order")
    for item in sorted(set(input["items"])):
        yield ctx.schedule_activity("Reserve", item)
    roll_result = yield ctx.schedule_activity("Roll", 6)
    yield ctx.schedule_timer(1000)
    return {"at": now_ms, "id": guid, "desc": describe(input), "roll": roll_result}


@reg.register_orchestration("Allowed")
def allowed(ctx, input):
    # A deliberate exception, silenced for this line only.
    started = time.time()  # duroxide: allow
    debug = time.monotonic()  # duroxide: allow[DX001]
    yield ctx.schedule_timer(1)
    return started - debug
