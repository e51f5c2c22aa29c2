// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/pybind.h"

#include "duroxide/providers/sqlite/sqlite_provider.h"

namespace duroxide::bindings {

namespace {

// `durability`: "normal" (PRAGMA synchronous=NORMAL: a commit survives a process crash, the
// last commits may be lost on power loss) or "full" (synchronous=FULL: every commit is fsynced
// before it is acknowledged). Anything else is an InvalidArgumentError.
ProviderHandle OpenSqliteShim(const std::string& path, const std::string& durability) {
  providers::sqlite::SqliteOptions options;
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
    // A duroxide error (a RuntimeError) whose text starts with
    // "Failed to open SQLite: ".
    ThrowStatus(Status(r.status().code(), "Failed to open SQLite", r.status().ToString()));
  }
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
      .def_static("open", &OpenSqliteShim, py::arg("path"), py::arg("durability") = "normal",
                  "Opens (creating if needed) a SQLite database file.")
      .def_static("in_memory", &InMemorySqliteShim, "A fresh private in-memory database.")
      .def_property_readonly("kind", [](const ProviderHandle& h) { return h.kind; });
}

}  // namespace duroxide::bindings
