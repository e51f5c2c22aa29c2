"""A distributed build as a task graph: compile -> zip -> upload (docs/task-graphs.md).

The seed program, written with duroxide tasks:

    const [libfoo, libbar] = await Promise.all([compile("libfoo.cpp"), compile("libbar.cpp")]);
    const result = await upload(await zip(libfoo, libbar));

Two worker processes share one SQLite file: this process advertises {"os": "linux"} and
starts a second one that advertises {"os": "windows"}. Each compile is routed by a JSON
Schema on the worker's capabilities, so libfoo is built on the linux worker and libbar on
the windows worker; zip and upload run wherever there is room. The graph is submitted
without writing an orchestration (client.submit), then printed (client.get_graph, the same
view as `duroxide graph ID` and `duroxide graph ID --dot`).

    python3 examples/build_pipeline.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

import duroxide
from duroxide import Client, Registry, Runtime, RuntimeOptions, SqliteProvider

WORKER_OS = os.environ.get("BUILD_PIPELINE_OS", "linux")


def on(os_name: str) -> Dict[str, Any]:
    """The capability requirement "runs on os_name" (JSON Schema draft 2020-12)."""
    return {"type": "object", "properties": {"os": {"const": os_name}}, "required": ["os"]}


registry = Registry()


@registry.task(retry={"max_attempts": 3, "prefer_different_worker": True})
def compile(src: str) -> str:
    time.sleep(0.2)  # the real work
    worker = duroxide.current_activity().worker_id
    return f"{src.replace('.cpp', '')}-{WORKER_OS}.o (built by {worker} in pid {os.getpid()})"


@registry.task(name="zip", cache={"ttl_s": 3600})
def zip_files(*objects: str) -> str:
    return "bundle[" + ", ".join(o.split(" ")[0] for o in objects) + "].zip"


@registry.task()
def upload(path: str) -> str:
    return f"https://artifacts.example/{path}"


def options(os_name: str, orchestrations: bool) -> RuntimeOptions:
    return RuntimeOptions(capabilities={"os": os_name}, dispatcher_poll_interval_ms=20,
                          orchestration_concurrency=2 if orchestrations else 0)


def worker_main(db: str) -> None:
    """The second process: a windows worker serving the same registry."""
    runtime = Runtime(SqliteProvider.open(db), options(WORKER_OS, False), registry=registry)
    runtime.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    runtime.shutdown(2000)


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="duroxide-build-")
    db = os.path.join(workdir, "build.db")
    provider = SqliteProvider.open(db)  # creates the schema before the worker opens the file
    env = dict(os.environ, BUILD_PIPELINE_OS="windows")
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", db],
                             env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        runtime = Runtime(provider, options(WORKER_OS, True), registry=registry)
        runtime.start()
        client = Client(provider)

        libfoo = compile.options(requires=on("linux"))("libfoo.cpp")
        libbar = compile.options(requires=on("windows"))("libbar.cpp")
        job = client.submit(upload(zip_files(libfoo, libbar)))
        result = client.wait_for_orchestration(job, 60000)
        print(f"job {job}: {result.status}, result: {result.output}")
        if result.status != "Completed":
            raise SystemExit(f"build failed: {result.error}")

        graph = client.get_graph(job)
        print("\nwhere each node ran:")
        for node in graph["nodes"]:
            print(f"  #{node['id']} {node['task']}{node['input']}: {node['status']} "
                  f"on {node['worker']}")
        compiled: List[str] = [n["input"] for n in graph["nodes"] if n["task"] == "compile"]
        print(f"\nedges: {graph['edges']}  (compiled {len(compiled)} sources)")
        from duroxide.cli.graphs import graph_dot

        print("\nGraphviz (duroxide graph --dot):\n" + graph_dot(graph))
        runtime.shutdown(2000)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        child.wait(15)
        if child.stdout is not None:
            child.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    else:
        main()
