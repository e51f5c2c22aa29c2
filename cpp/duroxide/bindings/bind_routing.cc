// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Capability routing, the task cache and raw history for the Python task-graph layer
// (python/duroxide/workflow/graphs.py, workflow/requirements.py). Private module functions: the
// public API is the Python Client methods built on them.
#include "duroxide/bindings/pybind.h"
#include "duroxide/history/codec.h"

namespace duroxide::bindings {

namespace {

py::list WaitingActivities(const ProviderHandle& h, int64_t min_wait_ms, int64_t limit) {
  std::vector<providers::WaitingActivity> rows =
      Blocking([&] { return h.provider->ListWaitingActivities(min_wait_ms, limit); });
  return ListOf(rows, [](const providers::WaitingActivity& w) {
    return py::dict("instance_id"_a = w.instance, "execution_id"_a = w.execution_id,
                    "activity_id"_a = w.activity_id, "name"_a = w.name,
                    "schema_hash"_a = w.schema_hash, "schema"_a = w.schema,
                    "waiting_since_ms"_a = w.waiting_since_ms, "deadline_ms"_a = w.deadline_ms);
  });
}

}  // namespace

void RegisterRouting(py::module_& m) {
  m.def("_read_capability_schemas", [](const ProviderHandle& h) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& s : Blocking([&] { return h.provider->ReadCapabilitySchemas(); })) {
      out.emplace_back(s.hash, s.schema);
    }
    return out;
  });
  m.def("_list_waiting_activities", &WaitingActivities, py::arg("provider"),
        py::arg("min_wait_ms"), py::arg("limit"));
  m.def("_task_cache_get", [](const ProviderHandle& h, const std::string& key) {
    return Blocking([&] { return h.provider->GetTaskCache(key); });
  });
  m.def("_task_cache_put", [](const ProviderHandle& h, const std::string& key,
                              const std::string& task, const std::string& result,
                              int64_t expires_at_ms) {
    BlockingStatus([&] { return h.provider->PutTaskCache(key, task, result, expires_at_ms); });
  });
  m.def("_task_cache_clear", [](const ProviderHandle& h, std::optional<std::string> task) {
    return Blocking([&] { return h.provider->ClearTaskCache(task); });
  });
  // The events of one execution (0 = current) as codec JSON text, for graph introspection.
  m.def("_read_history_json", [](const ProviderHandle& h, const std::string& instance,
                                 int64_t execution_id) {
    std::vector<std::string> out;
    auto events = Blocking([&] { return h.provider->ReadHistory(instance, execution_id); });
    for (const auto& e : events) {
      out.push_back(history::EncodeEvent(e));
    }
    return out;
  });
}

}  // namespace duroxide::bindings
