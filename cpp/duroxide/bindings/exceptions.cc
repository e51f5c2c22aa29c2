// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The one place where core errors become Python exceptions. The classes live in
// python/duroxide/errors.py (one hierarchy under DuroxideError); this module exposes the same
// objects as duroxide._core.<Name> and raises them for Status values and binding failures.
#include "duroxide/bindings/pybind.h"

namespace duroxide::bindings {
namespace {

py::object& Cls(const char* name) {
  static auto* classes = new std::map<std::string, py::object>();  // lives for the process
  return (*classes)[name];
}

}  // namespace

bool PythonAlive() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsInitialized() && !Py_IsFinalizing();
#else
  return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
}

void DropReference(py::object& obj) {
  if (!obj) return;
  if (!PythonAlive()) {
    obj.release();
    return;
  }
  py::gil_scoped_acquire gil;
  obj = py::object();
}

[[noreturn]] void Raise(const char* cls, const std::string& message) {
  PyErr_SetString(Cls(cls).ptr(), message.c_str());
  throw py::error_already_set();
}

void ThrowStatus(const Status& status) {
  const char* cls = "StoreError";
  std::string message = status.ToString();
  switch (status.code()) {
    case StatusCode::kNotFound: cls = "NotFoundError"; break;
    case StatusCode::kAlreadyExists: cls = "InstanceAlreadyExistsError"; break;
    case StatusCode::kInvalidArgument: cls = "InvalidArgumentError"; break;
    case StatusCode::kDeadlineExceeded:
      cls = "OperationTimedOutError";
      message = status.message();
      break;
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
    case StatusCode::kFailedPrecondition:
      cls = "ProviderError";
      break;
    default:
      break;
  }
  Raise(cls, message);
}

void RegisterExceptions(py::module_& m) {
  py::module_ errors = py::module_::import("duroxide.errors");
  for (py::handle name : errors.attr("__all__")) {
    const std::string n = name.cast<std::string>();
    py::object cls = errors.attr(name);
    m.attr(name) = cls;
    Cls(n.c_str()) = cls;
  }
  // C++ exceptions that escape a binding are failures of the core: still DuroxideErrors (and
  // RuntimeErrors, as pybind11 would have made them).
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const py::builtin_exception&) {
      throw;  // py::value_error and friends keep their Python class
    } catch (const py::error_already_set&) {
      throw;
    } catch (const std::runtime_error& e) {
      PyErr_SetString(Cls("StoreError").ptr(), e.what());
    }
  });
}

}  // namespace duroxide::bindings
