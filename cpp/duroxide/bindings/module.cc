// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

namespace duroxide::bindings {
void RegisterDump(py::module_& m);  // export/import/verify (bind_dump.cc)
void RegisterLimits(py::module_& m);  // named limits (bind_limits.cc)
}  // namespace duroxide::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "duroxide native core (C++ replay engine, providers, runtime)";
  duroxide::bindings::RegisterExceptions(m);
  duroxide::bindings::RegisterLogging(m);
  duroxide::bindings::RegisterProviders(m);
  duroxide::bindings::RegisterPostgres(m);
  duroxide::bindings::RegisterClient(m);
  duroxide::bindings::RegisterManagement(m);
  duroxide::bindings::RegisterRuntime(m);
  duroxide::bindings::RegisterRouting(m);
  duroxide::bindings::RegisterFleet(m);
  duroxide::bindings::RegisterSchedules(m);
  duroxide::bindings::RegisterLimits(m);
  duroxide::bindings::RegisterDump(m);
  duroxide::bindings::RegisterTesting(m);
  duroxide::bindings::RegisterWaiters(m);
}
