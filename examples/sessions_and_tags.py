"""Sessions (activity affinity) and tags (routing activities to specific workers).

Two runtimes share one database:

* "cpu" runs orchestrations and untagged activities (the default tag filter), with the stable
  worker identity "cpu-node";
* "gpu" is a worker-only runtime (orchestration_concurrency=0) that runs untagged activities
  plus those tagged "gpu" (TagFilter.default_and(["gpu"])), as "gpu-node".

Embedding activities keep a per-session "model" in memory. Both runtimes serve untagged work,
yet every call of one session lands on the runtime that owns the session, so each model is
loaded once. A flakey activity tagged "gpu" is retried, and every attempt stays on the gpu
runtime. (TagFilter.tags(["gpu"]) would make the gpu runtime take tagged work only.)

    PYTHONPATH=python python3 examples/sessions_and_tags.py
"""

import collections
import threading
from typing import Any, Dict, List

from duroxide import (
    ActivityContext,
    Client,
    OrchestrationContext,
    Runtime,
    RuntimeOptions,
    SqliteProvider,
    TagFilter,
)

provider = SqliteProvider.in_memory()
client = Client(provider)
cpu = Runtime(provider, RuntimeOptions(worker_node_id="cpu-node", max_sessions_per_runtime=4))
gpu = Runtime(provider, RuntimeOptions(orchestration_concurrency=0, worker_node_id="gpu-node",
                                       worker_tag_filter=TagFilter.default_and(["gpu"])))

lock = threading.Lock()
models: Dict[Any, str] = {}                  # (runtime, session) -> "loaded model"
loads: "collections.Counter[str]" = collections.Counter()  # how often each runtime loaded a model
calls: List[Any] = []                        # (activity, runtime, session, tag, worker)


def register_workers(runtime: Runtime, label: str) -> None:
    @runtime.register_activity("Embed")
    def embed(ctx: ActivityContext, text: Any) -> Any:
        with lock:
            key = (label, ctx.session_id)
            if key not in models:            # expensive, once per session and runtime
                models[key] = f"model@{label}"
                loads[label] += 1
            calls.append(("Embed", label, ctx.session_id, ctx.tag(), ctx.worker_id))
        return f"{models[key]}:{len(text)}"

    attempts: "collections.Counter[Any]" = collections.Counter()

    @runtime.register_activity("Render")
    def render(ctx: ActivityContext, scene: Any) -> Any:
        with lock:
            attempts[scene] += 1
            calls.append(("Render", label, ctx.session_id, ctx.tag(), ctx.worker_id))
            if attempts[scene] < 3:
                raise RuntimeError(f"GPU hiccup (attempt {attempts[scene]})")
        return f"{scene} rendered on {label} after {attempts[scene]} attempts"


register_workers(cpu, "cpu")
register_workers(gpu, "gpu")


@cpu.register_orchestration("EmbedDocuments")
def embed_documents(ctx: OrchestrationContext, docs: Any) -> Any:
    session = f"embed-{ctx.instance_id}"
    vectors = []
    for doc in docs[:2]:                     # one by one ...
        vectors.append((yield ctx.schedule_activity_on_session("Embed", doc, session)))
    results = yield ctx.all([                # ... and in parallel: still the same owner
        ctx.schedule_activity("Embed", doc, session_id=session) for doc in docs[2:]])
    vectors += [r["ok"] for r in results]
    return vectors


@cpu.register_orchestration("GpuJob")
def gpu_job(ctx: OrchestrationContext, scene: Any) -> Any:
    # Tagged work runs only where the tag filter accepts "gpu"; retries keep the tag.
    image = yield ctx.schedule_activity_with_retry(
        "Render", scene, {"max_attempts": 3, "backoff": "none"}).with_tag("gpu")
    # Sessions and tags combine: the gpu runtime owns this session.
    features = yield ctx.schedule_activity_on_session("Embed", image, "gpu-session").with_tag("gpu")
    # A tagged activity nobody serves would wait forever: race it against a timer.
    nobody = yield ctx.race(ctx.schedule_activity("Render", "x").with_tag("tpu"),
                            ctx.schedule_timer(300))
    return {"image": image, "features": features,
            "tpu": "timed out" if nobody["index"] == 1 else nobody["value"]}


cpu.start()
gpu.start()
try:
    docs = ["alpha", "beta", "gamma", "delta", "epsilon"]
    for i in range(6):
        client.start_orchestration(f"embed-{i}", "EmbedDocuments", docs)
    client.start_orchestration("gpu-1", "GpuJob", "teapot")
    for i in range(6):
        print(f"embed-{i}:", client.wait_for_orchestration(f"embed-{i}", 10000).output)
    print("gpu-1:", client.wait_for_orchestration("gpu-1", 10000).output)

    print("\nwhere each session ran:")
    by_session = collections.defaultdict(set)
    for _activity, label, session, _tag, _worker in calls:
        if session:
            by_session[session].add(label)
    for session, labels in sorted(by_session.items()):
        print(f"  {session:16} -> {sorted(labels)}")
    print("models loaded per runtime:", dict(loads), "(one per session)")
    print("Render attempts:", [(label, tag) for activity, label, _, tag, _ in calls
                               if activity == "Render"])
    for name, rt in (("cpu", cpu), ("gpu", gpu)):
        m = rt.metrics_snapshot()
        assert m is not None  # None only before start()
        print(f"{name} metrics: activity_success={m['activity_success']} "
              f"activity_app_errors={m.activity_app_errors} orch_completions={m.orch_completions}")
finally:
    gpu.shutdown(2000)
    cpu.shutdown(2000)
