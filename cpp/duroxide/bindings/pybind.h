// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Must be included first by every binding file. The only place (with the rest of bindings/)
// that includes pybind11.
#ifndef DUROXIDE_BINDINGS_PYBIND_H_
#define DUROXIDE_BINDINGS_PYBIND_H_

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "duroxide/common/status.h"
#include "duroxide/providers/provider.h"

namespace py = pybind11;

namespace duroxide::bindings {

// Records cross to Python as dicts built with keyword literals:
// py::dict("instance_id"_a = w.instance, ...) keeps the keys in the order written.
using namespace pybind11::literals;  // NOLINT(build/namespaces): the "key"_a literal

// A provider as Python holds it (SqliteProvider._native).
struct ProviderHandle {
  std::shared_ptr<providers::Provider> provider;
  std::string kind;  // "sqlite"
};

// True while Python objects may be touched from a non-main thread.
bool PythonAlive();

// Drops a Python reference from a thread that may not hold the GIL. During interpreter
// finalization the reference is leaked rather than risk taking the GIL.
void DropReference(py::object& obj);

// The `code` of each duroxide.errors class the bindings raise (DuroxideError.code): the one
// name of an error kind shared by the core, Python, the REST problem `type` and HttpClient.
namespace errc {
inline constexpr const char* kStoreError = "store-error";
inline constexpr const char* kProviderError = "provider-error";
inline constexpr const char* kNotFound = "not-found";
inline constexpr const char* kAlreadyExists = "already-exists";
inline constexpr const char* kInvalidArgument = "invalid-argument";
inline constexpr const char* kInvalidType = "invalid-type";
inline constexpr const char* kFailedPrecondition = "failed-precondition";
inline constexpr const char* kTimeout = "timeout";
inline constexpr const char* kRuntimeState = "runtime-state";
inline constexpr const char* kTracing = "tracing";
}  // namespace errc

// Raises the Python exception matching `status` (exceptions.cc). REQUIRES: !status.ok().
[[noreturn]] void ThrowStatus(const Status& status);
// Raises the duroxide.errors class whose code is `code` with `message`, e.g.
// Raise(errc::kProviderError, "Failed to open ...").
[[noreturn]] void Raise(const char* code, const std::string& message);
inline void ThrowIfError(const Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

// Runs a blocking core call `f` (returning Result<T>) with the GIL released and returns its
// value; raises the matching Python exception on a failed Status. Every binding of a call
// that may wait on the store or a lock goes through this or BlockingStatus.
template <typename F>
auto Blocking(F&& f) {
  auto r = [&] {
    py::gil_scoped_release release;
    return f();
  }();
  if (!r.ok()) ThrowStatus(r.status());
  return std::move(r).value();
}

// Same for a call that returns a plain Status.
template <typename F>
void BlockingStatus(F&& f) {
  Status st;
  {
    py::gil_scoped_release release;
    st = f();
  }
  ThrowIfError(st);
}

// The binding of a core method that may wait on the store or a lock (returning Result<T> or
// Status): a callable taking the object and the method's arguments that runs the method with
// the GIL released, e.g. .def("get_status", BlockingMethod(&Client::GetStatus)).
template <typename C, typename R, typename... A>
auto BlockingMethod(R (C::*method)(A...)) {
  return [method](C& self, A... args) {
    if constexpr (std::is_same_v<R, Status>) {
      BlockingStatus([&] { return (self.*method)(args...); });
    } else {
      return Blocking([&] { return (self.*method)(args...); });
    }
  };
}

// The Python list of to_py(row) for each row (records as dicts, tuples, ...).
template <typename Rows, typename F>
py::list ListOf(const Rows& rows, F&& to_py) {
  py::list out;
  for (const auto& row : rows) out.append(to_py(row));
  return out;
}

// `store`, an optional part of a provider (schedules(), limits(), workers(), messaging()), or a
// failed-precondition error naming `op` and the part the provider lacks.
template <typename S>
S* RequireStore(S* store, const char* op, const char* what) {
  if (store == nullptr) {
    ThrowStatus(Status::FailedPrecondition(op, std::string("this provider has no ") + what));
  }
  return store;
}

void RegisterExceptions(py::module_& m);
void RegisterProviders(py::module_& m);
void RegisterPostgres(py::module_& m);  // after RegisterProviders (derives from its class)
void RegisterClient(py::module_& m);
void RegisterRuntime(py::module_& m);
void RegisterLogging(py::module_& m);  // bind_logging.cc
// RuntimeOptions(log_level=..., log_format=...): the native stderr log with that filter, unless
// init_tracing ran. Called by Runtime.start(). Raises ValueError for an unknown level.
void ApplyLogOptions(const std::optional<std::string>& level,
                     const std::optional<std::string>& format);
void RegisterManagement(py::module_& m);
void RegisterRouting(py::module_& m);  // capability routing, task cache (bind_routing.cc)
void RegisterFleet(py::module_& m);  // worker registry (bind_fleet.cc)
void RegisterSchedules(py::module_& m);  // durable schedules (bind_schedules.cc)
void RegisterTesting(py::module_& m);  // duroxide.testing support (bind_testing.cc)
void RegisterWaiters(py::module_& m);  // asyncio clients' waiter registry (bind_waiters.cc)

}  // namespace duroxide::bindings

#endif  // DUROXIDE_BINDINGS_PYBIND_H_
