// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The management result classes of api.md 1.11 and the native Management object behind the
// Client's management methods (python/duroxide/client/_management.py). Every Management method
// releases the GIL around the core call. The result classes have keyword constructors so that
// duroxide.HttpClient returns the same types as Client.
#include "duroxide/bindings/pybind.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/bindings/record.h"
#include "duroxide/bindings/repr.h"
#include "duroxide/client/management.h"

namespace duroxide::bindings {

namespace {

using client::AdminEvent;
using client::InstanceTree;
using client::Management;
using providers::DeleteInstanceResult;
using providers::ExecutionInfo;
using providers::InstanceFilter;
using providers::InstanceInfo;
using providers::InstanceStats;
using providers::PruneOptions;
using providers::PruneResult;
using providers::QueueDepths;
using providers::SystemMetrics;

// Actors (docs/messaging.md) are instances with id "@actor/<type>/<key>". Returns the type
// (want_key false) or the key (want_key true), or nullopt for an id that is not an actor's.
std::optional<std::string> ActorPart(const std::string& id, bool want_key) {
  const std::string p = "@actor/";
  if (id.rfind(p, 0) != 0) return std::nullopt;
  const size_t slash = id.find('/', p.size());
  if (slash == std::string::npos) return std::nullopt;
  return want_key ? id.substr(slash + 1) : id.substr(p.size(), slash - p.size());
}

// The result classes: each field named once (record.h), in constructor-argument order.
void RegisterCounts(py::module_& m) {
  BindRecord<SystemMetrics>(m, "SystemMetrics", "Counts over the whole store.",
                            Field("total_instances", &SystemMetrics::total_instances),
                            Field("total_executions", &SystemMetrics::total_executions),
                            Field("running_instances", &SystemMetrics::running_instances),
                            Field("completed_instances", &SystemMetrics::completed_instances),
                            Field("failed_instances", &SystemMetrics::failed_instances),
                            Field("total_events", &SystemMetrics::total_events));
  BindRecord<InstanceStats>(m, "SystemStats", "Storage figures of one instance.",
                            Field("history_event_count", &InstanceStats::history_event_count),
                            Field("history_size_bytes", &InstanceStats::history_size_bytes),
                            Field("queue_pending_count", &InstanceStats::queue_pending_count),
                            Field("kv_user_key_count", &InstanceStats::kv_user_key_count),
                            Field("kv_total_value_bytes", &InstanceStats::kv_total_value_bytes));
  BindRecord<QueueDepths>(m, "QueueDepths", "Pending messages per queue.",
                          Field("orchestrator_queue", &QueueDepths::orchestrator_queue),
                          Field("worker_queue", &QueueDepths::worker_queue),
                          Field("timer_queue", &QueueDepths::timer_queue));
}

void RegisterInstanceInfo(py::module_& m) {
  BindMutableRecord<InstanceInfo>(
      m, "InstanceInfo", "An instance and its current execution.",
      Field("instance_id", &InstanceInfo::instance_id),
      Field("orchestration_name", &InstanceInfo::orchestration_name),
      Field("orchestration_version", &InstanceInfo::orchestration_version),
      Field("current_execution_id", &InstanceInfo::current_execution_id),
      Field("status", &InstanceInfo::status),
      Field("output", &InstanceInfo::output, InRepr::kNo),
      Field("created_at", &InstanceInfo::created_at, InRepr::kNo),
      Field("updated_at", &InstanceInfo::updated_at, InRepr::kNo),
      Field("parent_instance_id", &InstanceInfo::parent_instance_id))
      .def_property_readonly("actor_type",
                             [](const InstanceInfo& i) { return ActorPart(i.instance_id, false); })
      .def_property_readonly("actor_key",
                             [](const InstanceInfo& i) { return ActorPart(i.instance_id, true); });
  BindMutableRecord<ExecutionInfo>(m, "ExecutionInfo", "One execution of an instance.",
                                   Field("execution_id", &ExecutionInfo::execution_id),
                                   Field("status", &ExecutionInfo::status),
                                   Field("output", &ExecutionInfo::output, InRepr::kNo),
                                   Field("started_at", &ExecutionInfo::started_at),
                                   Field("completed_at", &ExecutionInfo::completed_at),
                                   Field("event_count", &ExecutionInfo::event_count));
}

void RegisterInstanceTree(py::module_& m) {
  py::class_<InstanceTree>(m, "InstanceTree", "A root instance and all its descendants.")
      .def(py::init([](std::string root_id, std::vector<std::string> all_ids) {
             return InstanceTree{std::move(root_id), std::move(all_ids)};
           }),
           py::arg("root_id"), py::arg("all_ids"))
      .def_readonly("root_id", &InstanceTree::root_id)
      .def_readonly("all_ids", &InstanceTree::all_ids)
      .def_property_readonly("size", &InstanceTree::size)
      .def("__repr__", [](const InstanceTree& t) {
        return ReprBuilder("InstanceTree")
            .Field("root_id", t.root_id)
            .Field("size", static_cast<int64_t>(t.size()))
            .Done();
      });
}

// What deletes and prunes take and report.
void RegisterBulkTypes(py::module_& m) {
  BindRecord<DeleteInstanceResult>(
      m, "DeleteInstanceResult", "What a delete removed.",
      Field("instances_deleted", &DeleteInstanceResult::instances_deleted),
      Field("executions_deleted", &DeleteInstanceResult::executions_deleted),
      Field("events_deleted", &DeleteInstanceResult::events_deleted),
      Field("queue_messages_deleted", &DeleteInstanceResult::queue_messages_deleted));
  BindRecord<PruneOptions>(m, "PruneOptions", "Which old executions prune_executions deletes.",
                           Field("keep_last", &PruneOptions::keep_last),
                           Field("completed_before", &PruneOptions::completed_before));
  BindRecord<PruneResult>(m, "PruneResult", "What a prune removed.",
                          Field("instances_processed", &PruneResult::instances_processed),
                          Field("executions_deleted", &PruneResult::executions_deleted),
                          Field("events_deleted", &PruneResult::events_deleted));
  BindRecord<InstanceFilter>(m, "InstanceFilter", "Selects instances for bulk operations.",
                             Field("instance_ids", &InstanceFilter::instance_ids),
                             Field("completed_before", &InstanceFilter::completed_before),
                             Field("limit", &InstanceFilter::limit));
}

void RegisterAdminEvent(py::module_& m) {
  BindRecord<AdminEvent>(m, "Event", "One history event (data is raw JSON text or None).",
                         Required("event_id", &AdminEvent::event_id),
                         Required("kind", &AdminEvent::kind),
                         Field("source_event_id", &AdminEvent::source_event_id),
                         Field("timestamp_ms", &AdminEvent::timestamp_ms),
                         Field("data", &AdminEvent::data, InRepr::kNo),
                         Field("raw", &AdminEvent::raw, InRepr::kNo));
}

// The Management object: a flat list of methods, each releasing the GIL around its core call.
void RegisterManagementObject(py::module_& m) {
  using G = Management;
  py::class_<G, std::shared_ptr<G>>(m, "Management")
      .def(py::init([](const ProviderHandle& p) { return std::make_shared<G>(p.provider); }),
           py::arg("provider"))
      .def("list_all_instances", BlockingMethod(&G::ListAllInstances))
      .def("list_instances_by_status", BlockingMethod(&G::ListInstancesByStatus),
           py::arg("status"))
      .def("get_instance_info", BlockingMethod(&G::GetInstanceInfo), py::arg("instance_id"))
      .def("get_execution_info", BlockingMethod(&G::GetExecutionInfo), py::arg("instance_id"),
           py::arg("execution_id"))
      .def("list_executions", BlockingMethod(&G::ListExecutions), py::arg("instance_id"))
      .def("read_execution_history", BlockingMethod(&G::ReadExecutionHistory),
           py::arg("instance_id"), py::arg("execution_id"))
      .def("get_instance_tree", BlockingMethod(&G::GetInstanceTree), py::arg("instance_id"))
      .def("delete_instance", BlockingMethod(&G::DeleteInstance), py::arg("instance_id"),
           py::arg("force"))
      .def("delete_instance_bulk", BlockingMethod(&G::DeleteInstanceBulk), py::arg("filter"))
      .def("prune_executions", BlockingMethod(&G::PruneExecutions), py::arg("instance_id"),
           py::arg("options"))
      .def("prune_executions_bulk", BlockingMethod(&G::PruneExecutionsBulk), py::arg("filter"),
           py::arg("options"))
      .def("get_system_metrics", BlockingMethod(&G::GetSystemMetrics))
      .def("get_queue_depths", BlockingMethod(&G::GetQueueDepths))
      .def("get_orchestration_stats", BlockingMethod(&G::GetOrchestrationStats),
           py::arg("instance_id"))
      .def("get_kv_all",
           [](G& g, const std::string& id) {
             providers::KvMap kv = Blocking([&] { return g.GetKvAll(id); });
             py::dict out;
             for (const auto& [key, entry] : kv) out[py::str(key)] = py::str(entry.value);
             return out;
           },
           py::arg("instance_id"), "The live KV map of an instance as {key: raw value}.");
}

}  // namespace

void RegisterManagement(py::module_& m) {
  RegisterCounts(m);
  RegisterInstanceInfo(m);
  RegisterInstanceTree(m);
  RegisterBulkTypes(m);
  RegisterAdminEvent(m);
  RegisterManagementObject(m);
}

}  // namespace duroxide::bindings
