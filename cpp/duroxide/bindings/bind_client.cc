// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

#include "duroxide/client/client.h"
#include "duroxide/providers/ops_common.h"

namespace duroxide::bindings {

namespace {

using client::Client;
using client::OrchestrationStatus;

using ClientClass = py::class_<Client, std::shared_ptr<Client>>;

ClientClass BoundClient(py::module_& m) {
  return py::reinterpret_borrow<ClientClass>(m.attr("Client"));
}

providers::MessagingStore* MessagingStoreOf(Client& c) {
  providers::MessagingStore* s = c.provider()->messaging();
  if (s == nullptr) {
    ThrowStatus(Status::FailedPrecondition("messaging", "this provider has no messaging"));
  }
  return s;
}

// Dead letters as dicts (Client.list_dead_letters).
py::list DeadLettersShim(Client& c, std::optional<std::string> instance) {
  providers::DeadLetterFilter f;
  f.instance = std::move(instance);
  auto* s = MessagingStoreOf(c);
  auto letters = Blocking([&] { return s->ListDeadLetters(f); });
  py::list out;
  for (const auto& d : letters) {
    py::dict row;
    row["id"] = d.id;
    row["instance_id"] = d.instance;
    row["queue"] = d.queue;
    row["data"] = d.data;
    row["meta"] = d.meta;
    row["reason"] = d.reason;
    row["created_at_ms"] = d.created_at_ms;
    out.append(row);
  }
  return out;
}

// ((topic, last_seq, subscribers, backlog), [(instance, cursor, lag, subscribed_at_ms)]).
py::tuple GetTopicShim(Client& c, const std::string& topic) {
  auto* s = MessagingStoreOf(c);
  providers::TopicInfo info;
  auto subs = Blocking([&] { return s->GetTopic(topic, &info); });
  py::list rows;
  for (const auto& sub : subs) {
    rows.append(py::make_tuple(sub.instance, sub.cursor, sub.lag, sub.subscribed_at_ms));
  }
  return py::make_tuple(py::make_tuple(info.topic, info.last_seq, info.subscribers, info.backlog),
                        rows);
}

// The queue rows of one instance (providers/ops_common.h QueueRow) as dicts.
py::list QueueRowsShim(Client& c, const std::string& id) {
  auto rows = Blocking([&] { return providers::ops::QueueRows(*c.provider(), id); });
  py::list out;
  for (const auto& r : rows) {
    py::dict row;
    row["queue"] = r.queue;
    row["kind"] = r.kind;
    row["work_item"] = r.work_item;
    row["visible_at_ms"] = r.visible_at;
    row["attempt_count"] = r.attempt_count;
    row["locked"] = r.locked;
    row["parked"] = r.parked;
    row["created_at_ms"] = r.created_at;
    out.append(row);
  }
  return out;
}

// Messaging methods of Client (docs/messaging.md).
void RegisterMessagingClient(py::module_& m) {
  BoundClient(m).def("send_message",
          [](Client& c, const std::string& id, const std::string& q, const std::string& data,
             const std::string& trace_context) {
            return Blocking([&] { return c.SendMessage(id, q, data, trace_context); });
          },
          py::arg("instance_id"), py::arg("queue"), py::arg("data"), py::arg("trace_context") = "")
      .def("publish_event",
           [](Client& c, const std::string& topic, const std::string& data,
              const std::string& trace_context) {
             return Blocking([&] { return c.PublishEvent(topic, data, trace_context); });
           },
           py::arg("topic"), py::arg("data"), py::arg("trace_context") = "")
      // Returns (request_id, reply JSON or None on timeout); the GIL is released while waiting.
      .def("request",
           [](Client& c, const std::string& id, const std::string& op, const std::string& data,
              int64_t timeout_ms, const std::string& trace_context) {
             std::string request_id;
             auto reply = Blocking(
                 [&] { return c.Request(id, op, data, timeout_ms, &request_id, trace_context); });
             return py::make_tuple(request_id, reply);
           },
           py::arg("instance_id"), py::arg("operation"), py::arg("data"), py::arg("timeout_ms"),
           py::arg("trace_context") = "");
}

// The MessagingStore management calls: dead letters and topics.
void RegisterMessagingAdmin(py::module_& m) {
  BoundClient(m)
      .def("list_dead_letters", &DeadLettersShim)
      .def("redeliver_dead_letter",
           [](Client& c, int64_t id) {
             auto* s = MessagingStoreOf(c);
             BlockingStatus([&] { return s->RedeliverDeadLetter(id); });
           })
      .def("purge_dead_letters",
           [](Client& c, std::optional<std::string> instance, std::optional<int64_t> before,
              std::vector<int64_t> ids) {
             providers::DeadLetterFilter f;
             f.instance = std::move(instance);
             f.before_ms = before;
             f.ids = std::move(ids);
             auto* s = MessagingStoreOf(c);
             return Blocking([&] { return s->PurgeDeadLetters(f); });
           })
      .def("list_topics",
           [](Client& c) {
             auto* s = MessagingStoreOf(c);
             auto topics = Blocking([&] { return s->ListTopics(); });
             py::list out;
             for (const auto& t : topics) {
               out.append(py::make_tuple(t.topic, t.last_seq, t.subscribers, t.backlog));
             }
             return out;
           })
      .def("get_topic", &GetTopicShim);
}

void RegisterOrchestrationStatus(py::module_& m) {
  py::class_<OrchestrationStatus>(m, "OrchestrationStatus")
      .def(py::init<>())
      .def_readwrite("status", &OrchestrationStatus::status)
      .def_readwrite("output", &OrchestrationStatus::output)
      .def_readwrite("error", &OrchestrationStatus::error)
      .def_readwrite("custom_status", &OrchestrationStatus::custom_status)
      .def_readwrite("custom_status_version", &OrchestrationStatus::custom_status_version)
      .def("__repr__", [](const OrchestrationStatus& s) {
        return "OrchestrationStatus(status='" + s.status + "')";
      });
}

// Client's instance control: start, events, cancel/suspend/resume/terminate, rerun.
void RegisterClientControl(py::module_& m) {
  ClientClass(m, "Client")
      .def(py::init([](const ProviderHandle& p) { return std::make_shared<Client>(p.provider); }))
      .def_property("max_payload_bytes", &Client::max_payload_bytes, &Client::set_max_payload_bytes)
      .def("start_orchestration",
           [](Client& c, const std::string& id, const std::string& name, const std::string& input,
              std::optional<std::string> version, const std::string& if_exists,
              const std::string& trace_context, int64_t priority, const std::string& limit,
              const std::string& limit_key) {
             duroxide::client::StartOptions options;
             options.if_exists = if_exists;
             options.trace_context = trace_context;
             options.priority = priority;
             options.limit = limit;
             options.limit_key = limit_key;
             BlockingStatus(
                 [&] { return c.StartOrchestration(id, name, input, version, options); });
           },
           py::arg("instance_id"), py::arg("name"), py::arg("input"), py::arg("version") = py::none(),
           py::arg("if_exists") = "fail", py::arg("trace_context") = "",
           py::arg("priority") = 0, py::arg("limit") = "", py::arg("limit_key") = "")
      .def("raise_event",
           [](Client& c, const std::string& id, const std::string& name, const std::string& data) {
             BlockingStatus([&] { return c.RaiseEvent(id, name, data); });
           })
      .def("enqueue_event",
           [](Client& c, const std::string& id, const std::string& q, const std::string& data) {
             BlockingStatus([&] { return c.EnqueueEvent(id, q, data); });
           })
      .def("cancel_instance",
           [](Client& c, const std::string& id, const std::string& reason) {
             BlockingStatus([&] { return c.CancelInstance(id, reason); });
           })
      .def("suspend_instance",
           [](Client& c, const std::string& id, const std::string& reason) {
             BlockingStatus([&] { return c.SuspendInstance(id, reason); });
           })
      .def("resume_instance",
           [](Client& c, const std::string& id) {
             BlockingStatus([&] { return c.ResumeInstance(id); });
           })
      .def("terminate_instance",
           [](Client& c, const std::string& id, const std::string& reason,
              std::optional<std::string> output, bool recursive) {
             BlockingStatus([&] { return c.TerminateInstance(id, reason, output, recursive); });
           })
      .def("rerun",
           [](Client& c, const std::string& source, const std::string& new_id, int64_t from,
              std::optional<std::string> input) {
             BlockingStatus(
                 [&] { return providers::ops::Rerun(*c.provider(), source, new_id, from, input); });
           });
}

// Client's reads and waits: status, KV, queue rows.
void RegisterClientQueries(py::module_& m) {
  BoundClient(m)
      .def("list_suspended", [](Client& c) { return Blocking([&] { return c.ListSuspended(); }); })
      .def("queue_rows", &QueueRowsShim)
      .def("get_status",
           [](Client& c, const std::string& id) { return Blocking([&] { return c.GetStatus(id); }); })
      .def("wait_for_orchestration",
           [](Client& c, const std::string& id, int64_t timeout_ms) {
             return Blocking([&] { return c.WaitForOrchestration(id, timeout_ms); });
           })
      .def("wait_for_status_change",
           [](Client& c, const std::string& id, int64_t last, int64_t poll, int64_t timeout) {
             return Blocking([&] { return c.WaitForStatusChange(id, last, poll, timeout); });
           })
      .def("get_kv_value",
           [](Client& c, const std::string& id, const std::string& key) {
             return Blocking([&] { return c.GetKvValue(id, key); });
           })
      .def("wait_for_kv_value",
           [](Client& c, const std::string& id, const std::string& key, int64_t timeout_ms) {
             return Blocking([&] { return c.WaitForKvValue(id, key, timeout_ms); });
           });
}

}  // namespace

void RegisterClient(py::module_& m) {
  RegisterOrchestrationStatus(m);
  RegisterClientControl(m);
  RegisterClientQueries(m);
  RegisterMessagingClient(m);
  RegisterMessagingAdmin(m);
}

}  // namespace duroxide::bindings
