// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

#include "duroxide/providers/sqlite/sqlite_fault_vfs.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"

namespace duroxide::bindings {

namespace {

// `durability`: "normal" (PRAGMA synchronous=NORMAL: a commit survives a process crash, the
// last commits may be lost on power loss) or "full" (synchronous=FULL: every commit is fsynced
// before it is acknowledged). Anything else is an InvalidArgumentError.
ProviderHandle OpenSqliteShim(const std::string& path, const std::string& durability,
                              bool fault_injection) {
  providers::sqlite::SqliteOptions options;
  options.fault_injection = fault_injection;
  if (durability == "full") {
    options.synchronous_full = true;
  } else if (durability != "normal") {
    ThrowStatus(Status::InvalidArgument(
        "SqliteProvider.open",
        "durability must be \"normal\" or \"full\", got \"" + durability + "\""));
  }
  Result<std::unique_ptr<providers::sqlite::SqliteProvider>> r = [&] {
    py::gil_scoped_release release;
    return providers::sqlite::SqliteProvider::Open(path, options);
  }();
  if (!r.ok()) {
    Raise(errc::kProviderError, "Failed to open SQLite: " + r.status().ToString());
  }
  return ProviderHandle{std::shared_ptr<providers::Provider>(std::move(r).value()), "sqlite"};
}

ProviderHandle InMemorySqliteShim() {
  auto r = providers::sqlite::SqliteProvider::InMemory();
  if (!r.ok()) {
    Raise(errc::kProviderError, "Failed to create in-memory SQLite: " + r.status().ToString());
  }
  return ProviderHandle{std::shared_ptr<providers::Provider>(std::move(r).value()), "sqlite"};
}

}  // namespace

void RegisterProviders(py::module_& m) {
  py::class_<ProviderHandle>(m, "SqliteProvider")
      .def_static("open", &OpenSqliteShim, py::arg("path"), py::arg("durability") = "normal",
                  py::arg("_fault_injection") = false,
                  "Opens (creating if needed) a SQLite database file.")
      .def_static("in_memory", &InMemorySqliteShim, "A fresh private in-memory database.")
      .def_property_readonly("kind", [](const ProviderHandle& h) { return h.kind; });

  // TEST ONLY (docs/reliability.md): the fault plan of providers opened with
  // _fault_injection=True.
  namespace t = providers::sqlite::faults;
  m.def("_sqlite_set_faults",
        [](double write_error_rate, double disk_full_rate, double sync_error_rate, uint64_t seed) {
          t::SetFaultPlan(t::FaultPlan{write_error_rate, disk_full_rate, sync_error_rate, seed});
        },
        py::arg("write_error_rate") = 0.0, py::arg("disk_full_rate") = 0.0,
        py::arg("sync_error_rate") = 0.0, py::arg("seed") = 1);
  m.def("_sqlite_fault_stats", [] {
    t::FaultStats s = t::GetFaultStats();
    return py::dict("writes"_a = s.writes, "syncs"_a = s.syncs, "write_errors"_a = s.write_errors,
                    "disk_full"_a = s.disk_full, "sync_errors"_a = s.sync_errors);
  });
  m.def("_sqlite_reset_fault_stats", &t::ResetFaultStats);
}

}  // namespace duroxide::bindings
