// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The worker registry for Python (python/duroxide/client/_fleet.py builds the public types):
// records as dicts with the derived status, drain requests, pruning and the queued work that
// the diagnosis of stuck work compares with what live workers serve.
#include "duroxide/bindings/pybind.h"

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/provider.h"

namespace duroxide::bindings {

namespace {

providers::WorkerRegistryStore* Store(const ProviderHandle& p, const char* op) {
  return RequireStore(p.provider->workers(), op, "worker registry");
}

// A worker record with the status derived at `now` (also returned, as now_ms).
py::dict WorkerDict(const providers::WorkerRecord& r, int64_t now) {
  return py::dict(
      // identity and lifecycle
      "worker_id"_a = r.worker_id, "name"_a = r.name,
      "status"_a = providers::EffectiveWorkerStatus(r, now), "stored_status"_a = r.status,
      "drain_requested"_a = r.drain_requested,
      // process
      "host"_a = r.host, "pid"_a = r.pid, "version"_a = r.version,
      "service_name"_a = r.service_name, "service_version"_a = r.service_version,
      // timing
      "started_at_ms"_a = r.started_at_ms, "registered_at_ms"_a = r.registered_at_ms,
      "last_heartbeat_ms"_a = r.last_heartbeat_ms,
      "heartbeat_interval_ms"_a = r.heartbeat_interval_ms,
      // what it offers and holds (JSON text)
      "capacity"_a = r.capacity_json, "load"_a = r.load_json, "serves"_a = r.serves_json,
      "tags"_a = r.tags_json, "capabilities"_a = r.capabilities_json,
      "session_owners"_a = r.session_owners_json, "sessions_held"_a = r.sessions_held,
      "now_ms"_a = now);
}

// Queued work with what its work item asks for (kind "Undecodable" when it cannot be read).
py::dict QueuedDict(const providers::QueuedWork& q) {
  const bool orch = q.queue == providers::QueuedWork::Queue::kOrchestrator;
  py::dict d("queue"_a = orch ? "orchestrator" : "worker", "instance_id"_a = q.instance,
             "created_at_ms"_a = q.created_at_ms, "visible_at_ms"_a = q.visible_at_ms,
             "instance_name"_a = q.instance_name, "instance_version"_a = q.instance_version);
  Result<history::WorkItem> item = history::DecodeWorkItem(q.work_item_json);
  if (!item.ok()) {
    d["kind"] = "Undecodable";
    return d;
  }
  d["kind"] = history::WorkItemKindName(item->kind);
  d["name"] = item->name;
  d["version"] = item->version;
  d["tag"] = item->tag;
  d["session_id"] = item->session_id;
  return d;
}

}  // namespace

void RegisterFleet(py::module_& m) {
  m.def("fleet_list_workers", [](const ProviderHandle& p) {
    providers::WorkerRegistryStore* store = Store(p, "list_workers");
    auto r = Blocking([&] { return store->ListWorkers(); });
    const int64_t now = NowMs();
    return ListOf(r, [now](const auto& row) { return WorkerDict(row, now); });
  });
  m.def("fleet_drain_worker", [](const ProviderHandle& p, const std::string& name_or_id) {
    providers::WorkerRegistryStore* store = Store(p, "drain_worker");
    return Blocking([&] { return store->RequestWorkerDrain(name_or_id); });
  });
  m.def("fleet_prune_workers", [](const ProviderHandle& p, int64_t gone_before_ms) {
    providers::WorkerRegistryStore* store = Store(p, "prune_workers");
    return Blocking([&] { return store->PruneWorkers(gone_before_ms); });
  });
  m.def("fleet_list_queued_work", [](const ProviderHandle& p, int64_t limit) {
    providers::WorkerRegistryStore* store = Store(p, "list_unservable_work");
    return ListOf(Blocking([&] { return store->ListQueuedWork(limit); }), &QueuedDict);
  });
}

}  // namespace duroxide::bindings
