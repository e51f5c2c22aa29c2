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

void RegisterSystemMetrics(py::module_& m) {
  py::class_<SystemMetrics>(m, "SystemMetrics", "Counts over the whole store.")
      .def(py::init([](int64_t total_instances, int64_t total_executions,
                       int64_t running_instances, int64_t completed_instances,
                       int64_t failed_instances, int64_t total_events) {
             return SystemMetrics{total_instances, total_executions, running_instances,
                                  completed_instances, failed_instances, total_events};
           }),
           py::arg("total_instances") = 0, py::arg("total_executions") = 0,
           py::arg("running_instances") = 0, py::arg("completed_instances") = 0,
           py::arg("failed_instances") = 0, py::arg("total_events") = 0)
      .def_readonly("total_instances", &SystemMetrics::total_instances)
      .def_readonly("total_executions", &SystemMetrics::total_executions)
      .def_readonly("running_instances", &SystemMetrics::running_instances)
      .def_readonly("completed_instances", &SystemMetrics::completed_instances)
      .def_readonly("failed_instances", &SystemMetrics::failed_instances)
      .def_readonly("total_events", &SystemMetrics::total_events)
      .def("__repr__", [](const SystemMetrics& s) {
        return ReprBuilder("SystemMetrics")
            .Field("total_instances", s.total_instances)
            .Field("total_executions", s.total_executions)
            .Field("running_instances", s.running_instances)
            .Field("completed_instances", s.completed_instances)
            .Field("failed_instances", s.failed_instances)
            .Field("total_events", s.total_events)
            .Done();
      });
}

void RegisterInstanceStats(py::module_& m) {
  py::class_<InstanceStats>(m, "SystemStats", "Storage figures of one instance.")
      .def(py::init([](int64_t history_event_count, int64_t history_size_bytes,
                       int64_t queue_pending_count, int64_t kv_user_key_count,
                       int64_t kv_total_value_bytes) {
             return InstanceStats{history_event_count, history_size_bytes, queue_pending_count,
                                  kv_user_key_count, kv_total_value_bytes};
           }),
           py::arg("history_event_count") = 0, py::arg("history_size_bytes") = 0,
           py::arg("queue_pending_count") = 0, py::arg("kv_user_key_count") = 0,
           py::arg("kv_total_value_bytes") = 0)
      .def_readonly("history_event_count", &InstanceStats::history_event_count)
      .def_readonly("history_size_bytes", &InstanceStats::history_size_bytes)
      .def_readonly("queue_pending_count", &InstanceStats::queue_pending_count)
      .def_readonly("kv_user_key_count", &InstanceStats::kv_user_key_count)
      .def_readonly("kv_total_value_bytes", &InstanceStats::kv_total_value_bytes)
      .def("__repr__", [](const InstanceStats& s) {
        return ReprBuilder("SystemStats")
            .Field("history_event_count", s.history_event_count)
            .Field("history_size_bytes", s.history_size_bytes)
            .Field("queue_pending_count", s.queue_pending_count)
            .Field("kv_user_key_count", s.kv_user_key_count)
            .Field("kv_total_value_bytes", s.kv_total_value_bytes)
            .Done();
      });
}

void RegisterQueueDepths(py::module_& m) {
  py::class_<QueueDepths>(m, "QueueDepths", "Pending messages per queue.")
      .def(py::init([](int64_t orchestrator_queue, int64_t worker_queue, int64_t timer_queue) {
             return QueueDepths{orchestrator_queue, worker_queue, timer_queue};
           }),
           py::arg("orchestrator_queue") = 0, py::arg("worker_queue") = 0,
           py::arg("timer_queue") = 0)
      .def_readonly("orchestrator_queue", &QueueDepths::orchestrator_queue)
      .def_readonly("worker_queue", &QueueDepths::worker_queue)
      .def_readonly("timer_queue", &QueueDepths::timer_queue)
      .def("__repr__", [](const QueueDepths& d) {
        return ReprBuilder("QueueDepths")
            .Field("orchestrator_queue", d.orchestrator_queue)
            .Field("worker_queue", d.worker_queue)
            .Field("timer_queue", d.timer_queue)
            .Done();
      });
}

void RegisterInstanceInfo(py::module_& m) {
  py::class_<InstanceInfo>(m, "InstanceInfo", "An instance and its current execution.")
      .def(py::init<>())
      .def_readwrite("instance_id", &InstanceInfo::instance_id)
      .def_property_readonly("actor_type",
                             [](const InstanceInfo& i) { return ActorPart(i.instance_id, false); })
      .def_property_readonly("actor_key",
                             [](const InstanceInfo& i) { return ActorPart(i.instance_id, true); })
      .def_readwrite("orchestration_name", &InstanceInfo::orchestration_name)
      .def_readwrite("orchestration_version", &InstanceInfo::orchestration_version)
      .def_readwrite("current_execution_id", &InstanceInfo::current_execution_id)
      .def_readwrite("status", &InstanceInfo::status)
      .def_readwrite("output", &InstanceInfo::output)
      .def_readwrite("created_at", &InstanceInfo::created_at)
      .def_readwrite("updated_at", &InstanceInfo::updated_at)
      .def_readwrite("parent_instance_id", &InstanceInfo::parent_instance_id)
      .def("__repr__", [](const InstanceInfo& i) {
        return ReprBuilder("InstanceInfo")
            .Field("instance_id", i.instance_id)
            .Field("orchestration_name", i.orchestration_name)
            .Field("orchestration_version", i.orchestration_version)
            .Field("current_execution_id", i.current_execution_id)
            .Field("status", i.status)
            .Field("parent_instance_id", i.parent_instance_id)
            .Done();
      });
}

void RegisterExecutionInfo(py::module_& m) {
  py::class_<ExecutionInfo>(m, "ExecutionInfo", "One execution of an instance.")
      .def(py::init<>())
      .def_readwrite("execution_id", &ExecutionInfo::execution_id)
      .def_readwrite("status", &ExecutionInfo::status)
      .def_readwrite("output", &ExecutionInfo::output)
      .def_readwrite("started_at", &ExecutionInfo::started_at)
      .def_readwrite("completed_at", &ExecutionInfo::completed_at)
      .def_readwrite("event_count", &ExecutionInfo::event_count)
      .def("__repr__", [](const ExecutionInfo& e) {
        return ReprBuilder("ExecutionInfo")
            .Field("execution_id", e.execution_id)
            .Field("status", e.status)
            .Field("started_at", e.started_at)
            .Field("completed_at", e.completed_at)
            .Field("event_count", e.event_count)
            .Done();
      });
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

void RegisterDeleteResult(py::module_& m) {
  py::class_<DeleteInstanceResult>(m, "DeleteInstanceResult", "What a delete removed.")
      .def(py::init([](int64_t instances_deleted, int64_t executions_deleted,
                       int64_t events_deleted, int64_t queue_messages_deleted) {
             return DeleteInstanceResult{instances_deleted, executions_deleted, events_deleted,
                                         queue_messages_deleted};
           }),
           py::arg("instances_deleted") = 0, py::arg("executions_deleted") = 0,
           py::arg("events_deleted") = 0, py::arg("queue_messages_deleted") = 0)
      .def_readonly("instances_deleted", &DeleteInstanceResult::instances_deleted)
      .def_readonly("executions_deleted", &DeleteInstanceResult::executions_deleted)
      .def_readonly("events_deleted", &DeleteInstanceResult::events_deleted)
      .def_readonly("queue_messages_deleted", &DeleteInstanceResult::queue_messages_deleted)
      .def("__repr__", [](const DeleteInstanceResult& r) {
        return ReprBuilder("DeleteInstanceResult")
            .Field("instances_deleted", r.instances_deleted)
            .Field("executions_deleted", r.executions_deleted)
            .Field("events_deleted", r.events_deleted)
            .Field("queue_messages_deleted", r.queue_messages_deleted)
            .Done();
      });
}

void RegisterPruneTypes(py::module_& m) {
  py::class_<PruneOptions>(m, "PruneOptions", "Which old executions prune_executions deletes.")
      .def(py::init([](std::optional<int64_t> keep_last, std::optional<int64_t> completed_before) {
             return PruneOptions{keep_last, completed_before};
           }),
           py::arg("keep_last") = py::none(), py::arg("completed_before") = py::none())
      .def_readonly("keep_last", &PruneOptions::keep_last)
      .def_readonly("completed_before", &PruneOptions::completed_before)
      .def("__repr__", [](const PruneOptions& o) {
        return ReprBuilder("PruneOptions")
            .Field("keep_last", o.keep_last)
            .Field("completed_before", o.completed_before)
            .Done();
      });

  py::class_<PruneResult>(m, "PruneResult", "What a prune removed.")
      .def(py::init([](int64_t instances_processed, int64_t executions_deleted,
                       int64_t events_deleted) {
             return PruneResult{instances_processed, executions_deleted, events_deleted};
           }),
           py::arg("instances_processed") = 0, py::arg("executions_deleted") = 0,
           py::arg("events_deleted") = 0)
      .def_readonly("instances_processed", &PruneResult::instances_processed)
      .def_readonly("executions_deleted", &PruneResult::executions_deleted)
      .def_readonly("events_deleted", &PruneResult::events_deleted)
      .def("__repr__", [](const PruneResult& r) {
        return ReprBuilder("PruneResult")
            .Field("instances_processed", r.instances_processed)
            .Field("executions_deleted", r.executions_deleted)
            .Field("events_deleted", r.events_deleted)
            .Done();
      });
}

void RegisterInstanceFilter(py::module_& m) {
  py::class_<InstanceFilter>(m, "InstanceFilter", "Selects instances for bulk operations.")
      .def(py::init([](std::optional<std::vector<std::string>> instance_ids,
                       std::optional<int64_t> completed_before, std::optional<int64_t> limit) {
             return InstanceFilter{std::move(instance_ids), completed_before, limit};
           }),
           py::arg("instance_ids") = py::none(), py::arg("completed_before") = py::none(),
           py::arg("limit") = py::none())
      .def_readonly("instance_ids", &InstanceFilter::instance_ids)
      .def_readonly("completed_before", &InstanceFilter::completed_before)
      .def_readonly("limit", &InstanceFilter::limit)
      .def("__repr__", [](const InstanceFilter& f) {
        return ReprBuilder("InstanceFilter")
            .Field("instance_ids", f.instance_ids)
            .Field("completed_before", f.completed_before)
            .Field("limit", f.limit)
            .Done();
      });
}

void RegisterAdminEvent(py::module_& m) {
  py::class_<AdminEvent>(m, "Event", "One history event (data is raw JSON text or None).")
      .def(py::init([](int64_t event_id, std::string kind, std::optional<int64_t> source_event_id,
                       int64_t timestamp_ms, std::optional<std::string> data, std::string raw) {
             return AdminEvent{event_id, std::move(kind), source_event_id, timestamp_ms,
                               std::move(data), std::move(raw)};
           }),
           py::arg("event_id"), py::arg("kind"), py::arg("source_event_id") = py::none(),
           py::arg("timestamp_ms") = 0, py::arg("data") = py::none(), py::arg("raw") = "")
      .def_readonly("event_id", &AdminEvent::event_id)
      .def_readonly("kind", &AdminEvent::kind)
      .def_readonly("source_event_id", &AdminEvent::source_event_id)
      .def_readonly("timestamp_ms", &AdminEvent::timestamp_ms)
      .def_readonly("data", &AdminEvent::data)
      .def_readonly("raw", &AdminEvent::raw)
      .def("__repr__", [](const AdminEvent& e) {
        return ReprBuilder("Event")
            .Field("event_id", e.event_id)
            .Field("kind", e.kind)
            .Field("source_event_id", e.source_event_id)
            .Field("timestamp_ms", e.timestamp_ms)
            .Done();
      });
}

// The Management object: a flat list of methods, each releasing the GIL around its core call.
void RegisterManagementObject(py::module_& m) {
  py::class_<Management, std::shared_ptr<Management>>(m, "Management")
      .def(py::init([](const ProviderHandle& p) { return std::make_shared<Management>(p.provider); }),
           py::arg("provider"))
      .def("list_all_instances",
           [](Management& g) { return Blocking([&] { return g.ListAllInstances(); }); })
      .def("list_instances_by_status",
           [](Management& g, const std::string& status) {
             return Blocking([&] { return g.ListInstancesByStatus(status); });
           },
           py::arg("status"))
      .def("get_instance_info",
           [](Management& g, const std::string& id) {
             return Blocking([&] { return g.GetInstanceInfo(id); });
           },
           py::arg("instance_id"))
      .def("get_execution_info",
           [](Management& g, const std::string& id, int64_t execution_id) {
             return Blocking([&] { return g.GetExecutionInfo(id, execution_id); });
           },
           py::arg("instance_id"), py::arg("execution_id"))
      .def("list_executions",
           [](Management& g, const std::string& id) {
             return Blocking([&] { return g.ListExecutions(id); });
           },
           py::arg("instance_id"))
      .def("read_execution_history",
           [](Management& g, const std::string& id, int64_t execution_id) {
             return Blocking([&] { return g.ReadExecutionHistory(id, execution_id); });
           },
           py::arg("instance_id"), py::arg("execution_id"))
      .def("get_instance_tree",
           [](Management& g, const std::string& id) {
             return Blocking([&] { return g.GetInstanceTree(id); });
           },
           py::arg("instance_id"))
      .def("delete_instance",
           [](Management& g, const std::string& id, bool force) {
             return Blocking([&] { return g.DeleteInstance(id, force); });
           },
           py::arg("instance_id"), py::arg("force"))
      .def("delete_instance_bulk",
           [](Management& g, const InstanceFilter& filter) {
             return Blocking([&] { return g.DeleteInstanceBulk(filter); });
           },
           py::arg("filter"))
      .def("prune_executions",
           [](Management& g, const std::string& id, const PruneOptions& options) {
             return Blocking([&] { return g.PruneExecutions(id, options); });
           },
           py::arg("instance_id"), py::arg("options"))
      .def("prune_executions_bulk",
           [](Management& g, const InstanceFilter& filter, const PruneOptions& options) {
             return Blocking([&] { return g.PruneExecutionsBulk(filter, options); });
           },
           py::arg("filter"), py::arg("options"))
      .def("get_system_metrics",
           [](Management& g) { return Blocking([&] { return g.GetSystemMetrics(); }); })
      .def("get_queue_depths",
           [](Management& g) { return Blocking([&] { return g.GetQueueDepths(); }); })
      .def("get_orchestration_stats",
           [](Management& g, const std::string& id) {
             return Blocking([&] { return g.GetOrchestrationStats(id); });
           },
           py::arg("instance_id"))
      .def("get_kv_all",
           [](Management& g, const std::string& id) {
             providers::KvMap kv = Blocking([&] { return g.GetKvAll(id); });
             py::dict out;
             for (const auto& [key, entry] : kv) out[py::str(key)] = py::str(entry.value);
             return out;
           },
           py::arg("instance_id"), "The live KV map of an instance as {key: raw value}.");
}

}  // namespace

void RegisterManagement(py::module_& m) {
  RegisterSystemMetrics(m);
  RegisterInstanceStats(m);
  RegisterQueueDepths(m);
  RegisterInstanceInfo(m);
  RegisterExecutionInfo(m);
  RegisterInstanceTree(m);
  RegisterDeleteResult(m);
  RegisterPruneTypes(m);
  RegisterInstanceFilter(m);
  RegisterAdminEvent(m);
  RegisterManagementObject(m);
}

}  // namespace duroxide::bindings
