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
  return RequireStore(p.provider->limits(), op, "named limits");
}

py::dict InfoDict(const LimitInfo& info) {
  const LimitSpec& s = info.spec;
  py::list keys = ListOf(info.top_keys, [](const auto& k) {
    return py::make_tuple(k.key, k.in_flight, k.waiting);
  });
  return py::dict("name"_a = s.name, "concurrency"_a = s.concurrency, "rate_per_s"_a = s.rate_per_s,
                  "burst"_a = s.burst, "per_key"_a = s.per_key, "in_flight"_a = info.in_flight,
                  "waiting"_a = info.waiting, "top_keys"_a = keys,
                  "created_at_ms"_a = s.created_at_ms, "updated_at_ms"_a = s.updated_at_ms);
}

py::dict WaitDict(const LimitWait& w) {
  return py::dict("instance_id"_a = w.instance, "execution_id"_a = w.execution_id,
                  "activity_id"_a = w.activity_id, "name"_a = w.name, "limit"_a = w.limit,
                  "limit_key"_a = w.limit_key, "defined"_a = w.defined,
                  "waiting_since_ms"_a = w.waiting_since_ms);
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
    return ListOf(Blocking([&] { return store->List(); }), &InfoDict);
  });
  m.def("limit_delete", [](const ProviderHandle& p, const std::string& name) {
    LimitStore* store = Store(p, "delete_limit");
    BlockingStatus([&] { return store->Delete(name); });
  });
  m.def("limit_waiting", [](const ProviderHandle& p, int64_t min_wait_ms, int64_t max_rows) {
    LimitStore* store = Store(p, "list_waiting_activities");
    return ListOf(Blocking([&] { return store->Waiting(min_wait_ms, max_rows); }), &WaitDict);
  });
}

}  // namespace duroxide::bindings
