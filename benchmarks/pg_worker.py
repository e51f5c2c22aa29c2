"""A runtime process for the multi-process PostgreSQL hello (started by workload.py).

Runs a Runtime with the benchmark registrations against --pg-url, prints "ready" once it has
started, and runs until a line arrives on stdin or stdin closes (also when the driver dies).
Then it prints one JSON line with the inputs its Echo activity ran with, and exits.
Uses only the public API, like workload.py.
"""

import argparse
import json
import os
import sys

from duroxide import PostgresProvider

from workload import make_runtime


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pg-url", required=True)
    p.add_argument("--orchestration-concurrency", type=int, default=2)
    p.add_argument("--worker-concurrency", type=int, default=2)
    p.add_argument("--poll-ms", type=int, default=10)
    p.add_argument("--activity-handoff", choices=["on", "off"], default=None)
    p.add_argument("--io-ms", type=int, default=None)  # workload3.py pg-io
    p.add_argument("--async-concurrency", type=int, default=None)
    args = p.parse_args()

    provider = PostgresProvider.connect(args.pg_url)
    executed = []
    runtime = make_runtime(provider, args, executed)
    runtime.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    sys.stdout.write(json.dumps({"pid": os.getpid(), "executed": list(executed)}) + "\n")
    sys.stdout.flush()
    try:
        runtime.shutdown(100)
    except Exception:
        pass
    os._exit(0)  # do not wait for the reference runtime's background tasks


if __name__ == "__main__":
    main()
