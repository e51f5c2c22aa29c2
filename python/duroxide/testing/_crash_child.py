"""Child process of crash_test(mode="process"): runs the orchestration and SIGKILLs itself at
the crash point. Usage: python -m duroxide.testing._crash_child MODULE:ATTR DB INSTANCE POINT
TIMEOUT_S (POINT is the JSON of a CrashPoint). Exit 0 if the instance ended first."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import List

from duroxide._providers import SqliteProvider
from duroxide.client.native import Client
from duroxide.testing._crash import CrashPoint, _Hook, _options, _wrap_registry
from duroxide.worker.loader import load_registry
from duroxide.worker.runtime import Runtime


def main(argv: List[str]) -> int:
    spec, db, instance_id, point_json, timeout_s = argv
    point = CrashPoint(**json.loads(point_json))

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    hook = _Hook(point, on_crash=die)
    provider = SqliteProvider.open(db)
    # Short locks: the parent's recovery runtime waits for them to expire after the kill.
    rt = Runtime(provider, _options(1000), registry=_wrap_registry(load_registry(spec), hook))
    rt.start()
    try:
        Client(provider).wait_for_orchestration(instance_id, int(float(timeout_s) * 1000))
    finally:
        rt.shutdown(2000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
