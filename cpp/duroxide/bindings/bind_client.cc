// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"
#include "duroxide/bindings/record.h"

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
  return RequireStore(c.provider()->messaging(), "messaging", "messaging");
}

// Dead letters as dicts (Client.list_dead_letters).
py::list DeadLettersShim(Client& c, std::optional<std::string> instance) {
  providers::DeadLetterFilter f;
  f.instance = std::move(instance);
  auto* s = MessagingStoreOf(c);
  return ListOf(Blocking([&] { return s->ListDeadLetters(f); }), [](const auto& d) {
    return py::dict("id"_a = d.id, "instance_id"_a = d.instance, "queue"_a = d.queue,
                    "data"_a = d.data, "meta"_a = d.meta, "reason"_a = d.reason,
                    "created_at_ms"_a = d.created_at_ms);
  });
}

// ((topic, last_seq, subscribers, backlog), [(instance, cursor, lag, subscribed_at_ms)]).
py::tuple GetTopicShim(Client& c, const std::string& topic) {
  auto* s = MessagingStoreOf(c);
  providers::TopicInfo info;
  auto subs = Blocking([&] { return s->GetTopic(topic, &info); });
  py::list rows = ListOf(subs, [](const auto& sub) {
    return py::make_tuple(sub.instance, sub.cursor, sub.lag, sub.subscribed_at_ms);
  });
  return py::make_tuple(py::make_tuple(info.topic, info.last_seq, info.subscribers, info.backlog),
                        rows);
}

// The queue rows of one instance (providers/ops_common.h QueueRow) as dicts.
py::list QueueRowsShim(Client& c, const std::string& id) {
  auto rows = Blocking([&] { return providers::ops::QueueRows(*c.provider(), id); });
  return ListOf(rows, [](const providers::ops::QueueRow& r) {
    return py::dict("queue"_a = r.queue, "kind"_a = r.kind, "work_item"_a = r.work_item,
                    "visible_at_ms"_a = r.visible_at, "attempt_count"_a = r.attempt_count,
                    "locked"_a = r.locked, "parked"_a = r.parked, "created_at_ms"_a = r.created_at);
  });
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
             return ListOf(Blocking([&] { return s->ListTopics(); }), [](const auto& t) {
               return py::make_tuple(t.topic, t.last_seq, t.subscribers, t.backlog);
             });
           })
      .def("get_topic", &GetTopicShim);
}

void RegisterOrchestrationStatus(py::module_& m) {
  using S = OrchestrationStatus;
  BindMutableRecord<S>(m, "OrchestrationStatus", nullptr, Field("status", &S::status),
                       Field("output", &S::output, InRepr::kNo),
                       Field("error", &S::error, InRepr::kNo),
                       Field("custom_status", &S::custom_status, InRepr::kNo),
                       Field("custom_status_version", &S::custom_status_version, InRepr::kNo));
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
      .def("raise_event", BlockingMethod(&Client::RaiseEvent))
      .def("enqueue_event", BlockingMethod(&Client::EnqueueEvent))
      .def("cancel_instance", BlockingMethod(&Client::CancelInstance))
      .def("suspend_instance", BlockingMethod(&Client::SuspendInstance))
      .def("resume_instance", BlockingMethod(&Client::ResumeInstance))
      .def("terminate_instance", BlockingMethod(&Client::TerminateInstance))
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
      .def("list_suspended", BlockingMethod(&Client::ListSuspended))
      .def("queue_rows", &QueueRowsShim)
      .def("get_status", BlockingMethod(&Client::GetStatus))
      .def("wait_for_orchestration", BlockingMethod(&Client::WaitForOrchestration))
      .def("wait_for_status_change", BlockingMethod(&Client::WaitForStatusChange))
      .def("get_kv_value", BlockingMethod(&Client::GetKvValue))
      .def("wait_for_kv_value", BlockingMethod(&Client::WaitForKvValue));
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
