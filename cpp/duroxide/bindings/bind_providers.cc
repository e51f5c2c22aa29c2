// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

#include "duroxide/providers/sqlite/sqlite_provider.h"

namespace duroxide::bindings {

namespace {

ProviderHandle OpenSqliteShim(const std::string& path) {
  Result<std::unique_ptr<providers::sqlite::SqliteProvider>> r = [&] {
    py::gil_scoped_release release;
    return providers::sqlite::SqliteProvider::Open(path);
  }();
  if (!r.ok()) Raise("ProviderError", "Failed to open SQLite: " + r.status().ToString());
  return ProviderHandle{std::shared_ptr<providers::Provider>(std::move(r).value()), "sqlite"};
}

ProviderHandle InMemorySqliteShim() {
  auto r = providers::sqlite::SqliteProvider::InMemory();
  if (!r.ok()) {
    Raise("ProviderError", "Failed to create in-memory SQLite: " + r.status().ToString());
  }
  return ProviderHandle{std::shared_ptr<providers::Provider>(std::move(r).value()), "sqlite"};
}

}  // namespace

void RegisterProviders(py::module_& m) {
  py::class_<ProviderHandle>(m, "SqliteProvider")
      .def_static("open", &OpenSqliteShim, py::arg("path"),
                  "Opens (creating if needed) a SQLite database file.")
      .def_static("in_memory", &InMemorySqliteShim, "A fresh private in-memory database.")
      .def_property_readonly("kind", [](const ProviderHandle& h) { return h.kind; });
}

}  // namespace duroxide::bindings
