"""hello on SQLite beside orchestrations that sleep on a timer (pending timers in the queue).

    python benchmarks/timers_bench.py --sleepers 10000 --n 1000

Starts --sleepers orchestrations that each wait on a one-hour timer, waits until they all
wait, then times --n hellos started at once and waited for (2+2 slots, 10 ms polling, a fresh
file). A timer's queue row ranks by its creation (providers/queue_order.h), so the pending
timers sit ahead of the new work in claim order: this measures what the orchestration fetch
pays for them (docs/performance.md, round 3). Prints hellos per second, the process's CPU per
hello during the timed part, and the load average.
"""

import argparse
import os
import tempfile
import time

from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sleepers", type=int, default=10000)
    p.add_argument("--n", type=int, default=1000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="timers-") as d:
        provider = SqliteProvider.open(os.path.join(d, "t.db"))
        client = Client(provider)
        rt = Runtime(provider, RuntimeOptions(orchestration_concurrency=2, worker_concurrency=2,
                                              dispatcher_poll_interval_ms=10))

        @rt.register_activity("Echo")
        def echo(ctx, x):
            return x

        @rt.register_orchestration("Hello")
        def hello(ctx, x):
            r = yield ctx.schedule_activity("Echo", x)
            return r

        @rt.register_orchestration("Sleeper")
        def sleeper(ctx, x):
            ctx.set_custom_status("sleeping")
            yield ctx.schedule_timer(3_600_000)
            return x

        rt.start()
        try:
            for i in range(args.sleepers):
                client.start_orchestration(f"s-{i}", "Sleeper", i)
            last = f"s-{args.sleepers - 1}"
            while args.sleepers and client.get_status(last).custom_status != "sleeping":
                time.sleep(0.05)
            cpu0, t0 = time.process_time(), time.perf_counter()
            for i in range(args.n):
                client.start_orchestration(f"h-{i}", "Hello", i)
            for i in range(args.n):
                r = client.wait_for_orchestration(f"h-{i}", 120_000)
                if r.status != "Completed":
                    raise RuntimeError(f"h-{i}: {r.status} {r.error}")
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        finally:
            rt.shutdown()
    print(f"{args.n / elapsed:.0f} hellos/s, {cpu / args.n * 1e6:.0f} us CPU per hello, "
          f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
