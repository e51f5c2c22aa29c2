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

std::string Opt(const std::optional<std::string>& v) {
  return v ? "'" + *v + "'" : std::string("None");
}
std::string Opt(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("None");
}

}  // namespace

void RegisterManagement(py::module_& m) {
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
        return "SystemMetrics(total_instances=" + std::to_string(s.total_instances) +
               ", total_executions=" + std::to_string(s.total_executions) +
               ", running_instances=" + std::to_string(s.running_instances) +
               ", completed_instances=" + std::to_string(s.completed_instances) +
               ", failed_instances=" + std::to_string(s.failed_instances) +
               ", total_events=" + std::to_string(s.total_events) + ")";
      });

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
        return "SystemStats(history_event_count=" + std::to_string(s.history_event_count) +
               ", history_size_bytes=" + std::to_string(s.history_size_bytes) +
               ", queue_pending_count=" + std::to_string(s.queue_pending_count) +
               ", kv_user_key_count=" + std::to_string(s.kv_user_key_count) +
               ", kv_total_value_bytes=" + std::to_string(s.kv_total_value_bytes) + ")";
      });

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
        return "QueueDepths(orchestrator_queue=" + std::to_string(d.orchestrator_queue) +
               ", worker_queue=" + std::to_string(d.worker_queue) +
               ", timer_queue=" + std::to_string(d.timer_queue) + ")";
      });

  py::class_<InstanceInfo>(m, "InstanceInfo", "An instance and its current execution.")
      .def(py::init<>())
      .def_readwrite("instance_id", &InstanceInfo::instance_id)
      // Actors (docs/messaging.md) are instances with id "@actor/<type>/<key>".
      .def_property_readonly("actor_type",
                             [](const InstanceInfo& i) -> std::optional<std::string> {
                               const std::string p = "@actor/";
                               if (i.instance_id.rfind(p, 0) != 0) return std::nullopt;
                               const size_t slash = i.instance_id.find('/', p.size());
                               if (slash == std::string::npos) return std::nullopt;
                               return i.instance_id.substr(p.size(), slash - p.size());
                             })
      .def_property_readonly("actor_key",
                             [](const InstanceInfo& i) -> std::optional<std::string> {
                               const std::string p = "@actor/";
                               if (i.instance_id.rfind(p, 0) != 0) return std::nullopt;
                               const size_t slash = i.instance_id.find('/', p.size());
                               if (slash == std::string::npos) return std::nullopt;
                               return i.instance_id.substr(slash + 1);
                             })
      .def_readwrite("orchestration_name", &InstanceInfo::orchestration_name)
      .def_readwrite("orchestration_version", &InstanceInfo::orchestration_version)
      .def_readwrite("current_execution_id", &InstanceInfo::current_execution_id)
      .def_readwrite("status", &InstanceInfo::status)
      .def_readwrite("output", &InstanceInfo::output)
      .def_readwrite("created_at", &InstanceInfo::created_at)
      .def_readwrite("updated_at", &InstanceInfo::updated_at)
      .def_readwrite("parent_instance_id", &InstanceInfo::parent_instance_id)
      .def("__repr__", [](const InstanceInfo& i) {
        return "InstanceInfo(instance_id='" + i.instance_id + "', orchestration_name='" +
               i.orchestration_name + "', orchestration_version='" + i.orchestration_version +
               "', current_execution_id=" + std::to_string(i.current_execution_id) +
               ", status='" + i.status + "', parent_instance_id=" + Opt(i.parent_instance_id) +
               ")";
      });

  py::class_<ExecutionInfo>(m, "ExecutionInfo", "One execution of an instance.")
      .def(py::init<>())
      .def_readwrite("execution_id", &ExecutionInfo::execution_id)
      .def_readwrite("status", &ExecutionInfo::status)
      .def_readwrite("output", &ExecutionInfo::output)
      .def_readwrite("started_at", &ExecutionInfo::started_at)
      .def_readwrite("completed_at", &ExecutionInfo::completed_at)
      .def_readwrite("event_count", &ExecutionInfo::event_count)
      .def("__repr__", [](const ExecutionInfo& e) {
        return "ExecutionInfo(execution_id=" + std::to_string(e.execution_id) + ", status='" +
               e.status + "', started_at=" + std::to_string(e.started_at) +
               ", completed_at=" + Opt(e.completed_at) +
               ", event_count=" + std::to_string(e.event_count) + ")";
      });

  py::class_<InstanceTree>(m, "InstanceTree", "A root instance and all its descendants.")
      .def(py::init([](std::string root_id, std::vector<std::string> all_ids) {
             return InstanceTree{std::move(root_id), std::move(all_ids)};
           }),
           py::arg("root_id"), py::arg("all_ids"))
      .def_readonly("root_id", &InstanceTree::root_id)
      .def_readonly("all_ids", &InstanceTree::all_ids)
      .def_property_readonly("size", &InstanceTree::size)
      .def("__repr__", [](const InstanceTree& t) {
        return "InstanceTree(root_id='" + t.root_id + "', size=" + std::to_string(t.size()) +
               ")";
      });

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
        return "DeleteInstanceResult(instances_deleted=" + std::to_string(r.instances_deleted) +
               ", executions_deleted=" + std::to_string(r.executions_deleted) +
               ", events_deleted=" + std::to_string(r.events_deleted) +
               ", queue_messages_deleted=" + std::to_string(r.queue_messages_deleted) + ")";
      });

  py::class_<PruneOptions>(m, "PruneOptions", "Which old executions prune_executions deletes.")
      .def(py::init([](std::optional<int64_t> keep_last, std::optional<int64_t> completed_before) {
             return PruneOptions{keep_last, completed_before};
           }),
           py::arg("keep_last") = py::none(), py::arg("completed_before") = py::none())
      .def_readonly("keep_last", &PruneOptions::keep_last)
      .def_readonly("completed_before", &PruneOptions::completed_before)
      .def("__repr__", [](const PruneOptions& o) {
        return "PruneOptions(keep_last=" + Opt(o.keep_last) +
               ", completed_before=" + Opt(o.completed_before) + ")";
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
        return "PruneResult(instances_processed=" + std::to_string(r.instances_processed) +
               ", executions_deleted=" + std::to_string(r.executions_deleted) +
               ", events_deleted=" + std::to_string(r.events_deleted) + ")";
      });

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
        std::string ids = "None";
        if (f.instance_ids) {
          ids = "[";
          for (size_t i = 0; i < f.instance_ids->size(); ++i) {
            ids += (i ? ", '" : "'") + (*f.instance_ids)[i] + "'";
          }
          ids += "]";
        }
        return "InstanceFilter(instance_ids=" + ids +
               ", completed_before=" + Opt(f.completed_before) + ", limit=" + Opt(f.limit) + ")";
      });

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
        return "Event(event_id=" + std::to_string(e.event_id) + ", kind='" + e.kind +
               "', source_event_id=" + Opt(e.source_event_id) +
               ", timestamp_ms=" + std::to_string(e.timestamp_ms) + ")";
      });

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

}  // namespace duroxide::bindings
