"""By default the core's records go through Python's `logging` (loggers duroxide.runtime,
duroxide.orchestration, duroxide.activity) with structured fields on the LogRecord. Logging is
process-wide, so each scenario runs in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duroxide

PACKAGE_ROOT = str(Path(duroxide.__file__).resolve().parent.parent)

SCENARIO = textwrap.dedent("""
    import json, logging, sys
    records = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append({
                "logger": record.name, "level": record.levelname, "msg": record.getMessage(),
                "fields": getattr(record, "duroxide_fields", {}),
                "instance_id": getattr(record, "instance_id", None),
            })

    cfg = json.loads(sys.argv[1])
    logging.basicConfig(level=logging.WARNING, handlers=[Capture()])
    logging.getLogger("duroxide").setLevel(cfg.get("level", "INFO"))
    from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider

    before = Client  # creating options has no process-wide effect:
    RuntimeOptions(log_level="debug", log_format="json", service_name="x")
    import duroxide
    assert duroxide._core._logging_mode() == cfg.get("mode", "python")

    provider = SqliteProvider.in_memory()
    client = Client(provider)
    runtime = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=20,
                                               warm_cache_capacity=0))

    @runtime.register_activity("Work")
    def work(ctx, x):
        ctx.trace_info(f"activity info {x}")
        ctx.trace_debug(f"activity debug {x}")
        return x

    @runtime.register_orchestration("Traced")
    def traced(ctx, n):
        ctx.trace_info("orch start")
        for i in range(n):
            yield ctx.schedule_activity("Work", i)
            ctx.trace_info(f"orch step {i}")
        ctx.trace_warn("orch warn")
        return n

    runtime.start()
    client.start_orchestration("log-1", "Traced", 3)
    result = client.wait_for_orchestration("log-1", 10000)
    runtime.shutdown(1000)
    print(json.dumps({"status": result.status, "records": records}))
""")


def _run(cfg: dict, env: dict | None = None) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "DUROXIDE_LOG")}
    environ["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_ROOT] + [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    environ.update(env or {})
    proc = subprocess.run([sys.executable, "-c", SCENARIO, json.dumps(cfg)], capture_output=True,
                          text=True, env=environ, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == "Completed"
    out["stderr"] = proc.stderr
    return out


def test_records_go_to_python_logging_with_fields():
    out = _run({"level": "INFO"})
    records = out["records"]
    orch = [r for r in records if r["logger"] == "duroxide.orchestration"]
    # Replays (warm cache off: 4 turns) do not repeat records: each trace once.
    assert [r["msg"] for r in orch] == ["orch start", "orch step 0", "orch step 1", "orch step 2",
                                        "orch warn"]
    assert orch[-1]["level"] == "WARNING"
    for r in orch:
        assert r["instance_id"] == "log-1"
        assert r["fields"]["orchestration_name"] == "Traced"
        assert r["fields"]["execution_id"] == "1"
    acts = [r for r in records if r["logger"] == "duroxide.activity"]
    assert sorted(r["msg"] for r in acts) == ["activity info 0", "activity info 1",
                                              "activity info 2"]  # debug filtered by logging
    for r in acts:
        assert r["instance_id"] == "log-1"
        assert r["fields"]["activity_name"] == "Work"
        assert "worker_id" in r["fields"]
    runtime = [r for r in records if r["logger"] == "duroxide.runtime"]
    assert any(r["msg"] == "runtime started" and "runtime_id" in r["fields"] for r in runtime)
    assert not out["stderr"].strip()  # nothing written natively


def test_python_levels_filter_records():
    out = _run({"level": "WARNING"})
    assert [r["msg"] for r in out["records"]] == ["orch warn"]


def test_environment_filter_selects_the_native_log():
    out = _run({"level": "INFO", "mode": "native"},
               env={"DUROXIDE_LOG": "warn,duroxide::orchestration=info"})
    assert out["records"] == []
    lines = [line for line in out["stderr"].splitlines() if "duroxide::orchestration" in line]
    assert len(lines) == 5 and all("instance_id=log-1" in line for line in lines)
