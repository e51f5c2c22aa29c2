// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

#include "duroxide/client/client.h"

namespace duroxide::bindings {

namespace {

using client::Client;
using client::OrchestrationStatus;

// Runs a blocking core call with the GIL released; raises on a failed Status.
template <typename F>
auto Blocking(F&& f) {
  auto r = [&] {
    py::gil_scoped_release release;
    return f();
  }();
  if (!r.ok()) ThrowStatus(r.status());
  return std::move(r).value();
}

void BlockingStatus(const std::function<Status()>& f) {
  Status st;
  {
    py::gil_scoped_release release;
    st = f();
  }
  ThrowIfError(st);
}

}  // namespace

void RegisterClient(py::module_& m) {
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

  py::class_<Client, std::shared_ptr<Client>>(m, "Client")
      .def(py::init([](const ProviderHandle& p) { return std::make_shared<Client>(p.provider); }))
      .def_property("max_payload_bytes", &Client::max_payload_bytes, &Client::set_max_payload_bytes)
      .def("start_orchestration",
           [](Client& c, const std::string& id, const std::string& name, const std::string& input,
              std::optional<std::string> version) {
             BlockingStatus([&] { return c.StartOrchestration(id, name, input, version); });
           },
           py::arg("instance_id"), py::arg("name"), py::arg("input"), py::arg("version") = py::none())
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

}  // namespace duroxide::bindings
