// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider for Python. Compiled into every build; without DUROXIDE_WITH_POSTGRES
// RegisterPostgres registers nothing, so `duroxide.PostgresProvider` is absent.
#include "duroxide/bindings/pybind.h"

#if defined(DUROXIDE_WITH_POSTGRES)
#include "duroxide/providers/postgres/postgres_provider.h"
#endif

namespace duroxide::bindings {

#if defined(DUROXIDE_WITH_POSTGRES)

namespace {

// A ProviderHandle (accepted wherever a provider is, e.g. Client and Runtime) that also
// remembers its schema.
struct PostgresHandle : ProviderHandle {
  std::string schema;
};

PostgresHandle ConnectShim(const std::string& url, const std::string& schema) {
  Result<std::unique_ptr<providers::postgres::PostgresProvider>> r = [&] {
    py::gil_scoped_release release;
    return providers::postgres::PostgresProvider::ConnectWithSchema(url, schema);
  }();
  if (!r.ok()) {
    Raise(errc::kProviderError, "Failed to connect to PostgreSQL: " + r.status().ToString());
  }
  PostgresHandle h;
  h.provider = std::shared_ptr<providers::Provider>(std::move(r).value());
  h.kind = "postgres";
  h.schema = schema;
  return h;
}

}  // namespace

void RegisterPostgres(py::module_& m) {
  py::class_<PostgresHandle, ProviderHandle>(m, "PostgresProvider")
      .def_static(
          "connect", [](const std::string& url) { return ConnectShim(url, "public"); },
          py::arg("url"), "Connects to a PostgreSQL database and uses the schema 'public'.")
      .def_static("connect_with_schema", &ConnectShim, py::arg("url"), py::arg("schema"),
                  "Connects and uses `schema`, creating it (and the tables) if missing.")
      .def_property_readonly("schema", [](const PostgresHandle& h) { return h.schema; });
}

#else

void RegisterPostgres(py::module_& /*m*/) {}

#endif

}  // namespace duroxide::bindings
