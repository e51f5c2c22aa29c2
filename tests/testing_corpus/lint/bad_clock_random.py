"""Deliberately broken orchestrations: each line marked `expect:` must be reported."""
import datetime
import os
import random
import time
import uuid
from datetime import datetime as dt
from random import choice as pick

import duroxide

reg = duroxide.Registry()


@reg.register_orchestration("Clocks")
def clocks(ctx, input):
    started = time.time()  # expect: DX001
    today = datetime.datetime.now()  # expect: DX001
    also = dt.utcnow()  # expect: DX001
    time.sleep(1)  # expect: DX010
    result = yield ctx.schedule_activity("Work", started)
    return [result, str(today), str(also)]


@reg.register_orchestration_versioned("Randoms", "2.0.0")
def randoms(ctx, input):
    n = random.randint(1, 6)  # expect: DX002
    colour = pick(["red", "blue"])  # expect: DX002
    order_id = str(uuid.uuid4())  # expect: DX003
    print("rolled", n)  # expect: DX004
    region = os.environ["REGION"]  # expect: DX005
    mode = os.getenv("MODE")  # expect: DX005
    yield ctx.schedule_activity("Work", [n, colour, order_id, region, mode])
    return hash(order_id)  # expect: DX012
