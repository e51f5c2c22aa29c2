// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Named limits for Python (python/duroxide/client/limits.py validates and builds the public
// Limit/LimitInfo). Records cross as dicts; every store call runs with the GIL released.
#include "duroxide/bindings/pybind.h"

#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/provider.h"

namespace duroxide::bindings {

namespace {

using providers::LimitInfo;
using providers::LimitSpec;
using providers::LimitStore;
using providers::LimitWait;

LimitStore* Store(const ProviderHandle& p, const char* op) {
  LimitStore* store = p.provider->limits();
  if (store == nullptr) {
    ThrowStatus(Status::FailedPrecondition(op, "this provider has no named limits"));
  }
  return store;
}

template <typename T>
py::object Opt(const std::optional<T>& v) {
  return v ? py::cast(*v) : py::object(py::none());
}

py::dict InfoDict(const LimitInfo& info) {
  py::dict d;
  d["name"] = info.spec.name;
  d["concurrency"] = Opt(info.spec.concurrency);
  d["rate_per_s"] = Opt(info.spec.rate_per_s);
  d["burst"] = Opt(info.spec.burst);
  d["per_key"] = info.spec.per_key;
  d["in_flight"] = info.in_flight;
  d["waiting"] = info.waiting;
  py::list keys;
  for (const auto& k : info.top_keys) keys.append(py::make_tuple(k.key, k.in_flight, k.waiting));
  d["top_keys"] = keys;
  d["created_at_ms"] = info.spec.created_at_ms;
  d["updated_at_ms"] = info.spec.updated_at_ms;
  return d;
}

py::dict WaitDict(const LimitWait& w) {
  py::dict d;
  d["instance_id"] = w.instance;
  d["execution_id"] = w.execution_id;
  d["activity_id"] = w.activity_id;
  d["name"] = w.name;
  d["limit"] = w.limit;
  d["limit_key"] = w.limit_key;
  d["defined"] = w.defined;
  d["waiting_since_ms"] = w.waiting_since_ms;
  return d;
}

}  // namespace

void RegisterLimits(py::module_& m) {
  m.def("limit_set", [](const ProviderHandle& p, const std::string& name,
                        std::optional<int64_t> concurrency, std::optional<double> rate_per_s,
                        std::optional<double> burst, bool per_key) {
    LimitStore* store = Store(p, "set_limit");
    LimitSpec spec;
    spec.name = name;
    spec.concurrency = concurrency;
    spec.rate_per_s = rate_per_s;
    spec.burst = burst;
    spec.per_key = per_key;
    BlockingStatus([&] { return store->Set(spec); });
  });
  m.def("limit_get", [](const ProviderHandle& p, const std::string& name) -> py::object {
    LimitStore* store = Store(p, "get_limit");
    auto info = Blocking([&] { return store->Get(name); });
    return info ? py::object(InfoDict(*info)) : py::object(py::none());
  });
  m.def("limit_list", [](const ProviderHandle& p) {
    LimitStore* store = Store(p, "list_limits");
    py::list out;
    for (const LimitInfo& info : Blocking([&] { return store->List(); })) {
      out.append(InfoDict(info));
    }
    return out;
  });
  m.def("limit_delete", [](const ProviderHandle& p, const std::string& name) {
    LimitStore* store = Store(p, "delete_limit");
    BlockingStatus([&] { return store->Delete(name); });
  });
  m.def("limit_waiting", [](const ProviderHandle& p, int64_t min_wait_ms, int64_t max_rows) {
    LimitStore* store = Store(p, "list_waiting_activities");
    py::list out;
    for (const LimitWait& w : Blocking([&] { return store->Waiting(min_wait_ms, max_rows); })) {
      out.append(WaitDict(w));
    }
    return out;
  });
}

}  // namespace duroxide::bindings
