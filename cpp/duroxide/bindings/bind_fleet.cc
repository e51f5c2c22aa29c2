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
  providers::WorkerRegistryStore* store = p.provider->workers();
  if (store == nullptr) {
    ThrowStatus(Status::FailedPrecondition(op, "this provider has no worker registry"));
  }
  return store;
}

py::object OptStr(const std::optional<std::string>& v) {
  return v ? py::object(py::str(*v)) : py::object(py::none());
}

py::dict WorkerDict(const providers::WorkerRecord& r, int64_t now) {
  py::dict d;
  d["worker_id"] = r.worker_id;
  d["name"] = r.name;
  d["status"] = providers::EffectiveWorkerStatus(r, now);
  d["stored_status"] = r.status;
  d["drain_requested"] = r.drain_requested;
  d["host"] = r.host;
  d["pid"] = r.pid;
  d["version"] = r.version;
  d["service_name"] = OptStr(r.service_name);
  d["service_version"] = OptStr(r.service_version);
  d["started_at_ms"] = r.started_at_ms;
  d["registered_at_ms"] = r.registered_at_ms;
  d["last_heartbeat_ms"] = r.last_heartbeat_ms;
  d["heartbeat_interval_ms"] = r.heartbeat_interval_ms;
  d["capacity"] = r.capacity_json;
  d["load"] = r.load_json;
  d["serves"] = r.serves_json;
  d["tags"] = r.tags_json;
  d["capabilities"] = OptStr(r.capabilities_json);
  d["session_owners"] = r.session_owners_json;
  d["sessions_held"] = r.sessions_held;
  d["now_ms"] = now;
  return d;
}

py::dict QueuedDict(const providers::QueuedWork& q) {
  py::dict d;
  d["queue"] = q.queue == providers::QueuedWork::Queue::kOrchestrator ? "orchestrator" : "worker";
  d["instance_id"] = q.instance;
  d["created_at_ms"] = q.created_at_ms;
  d["visible_at_ms"] = q.visible_at_ms;
  d["instance_name"] = OptStr(q.instance_name);
  d["instance_version"] = OptStr(q.instance_version);
  Result<history::WorkItem> item = history::DecodeWorkItem(q.work_item_json);
  if (!item.ok()) {
    d["kind"] = "Undecodable";
    return d;
  }
  d["kind"] = history::WorkItemKindName(item->kind);
  d["name"] = item->name;
  d["version"] = OptStr(item->version);
  d["tag"] = OptStr(item->tag);
  d["session_id"] = OptStr(item->session_id);
  return d;
}

}  // namespace

void RegisterFleet(py::module_& m) {
  m.def("fleet_list_workers", [](const ProviderHandle& p) {
    providers::WorkerRegistryStore* store = Store(p, "list_workers");
    auto r = Blocking([&] { return store->ListWorkers(); });
    const int64_t now = NowMs();
    py::list out;
    for (const auto& row : r) out.append(WorkerDict(row, now));
    return out;
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
    auto r = Blocking([&] { return store->ListQueuedWork(limit); });
    py::list out;
    for (const auto& q : r) out.append(QueuedDict(q));
    return out;
  });
}

}  // namespace duroxide::bindings
