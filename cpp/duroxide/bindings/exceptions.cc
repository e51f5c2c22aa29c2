// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The one place where core errors become Python exceptions. The classes live in
// python/duroxide/errors.py (one hierarchy under DuroxideError, each class with a stable
// `code`); this module exposes the same objects as duroxide._core.<Name> and raises them by
// code: a Status by its StatusCode, a binding failure by the code it names (errc::*). Nothing
// here looks at message text.
#include "duroxide/bindings/pybind.h"

namespace duroxide::bindings {
namespace {

// duroxide.errors' classes by their `code`; filled once at import, lives for the process.
std::map<std::string, py::object>& ByCode() {
  static auto* classes = new std::map<std::string, py::object>();
  return *classes;
}

// The code of the class raised for a failed Status.
const char* CodeOf(StatusCode code) {
  switch (code) {
    case StatusCode::kNotFound: return errc::kNotFound;
    case StatusCode::kAlreadyExists: return errc::kAlreadyExists;
    case StatusCode::kInvalidArgument: return errc::kInvalidArgument;
    case StatusCode::kFailedPrecondition: return errc::kFailedPrecondition;
    case StatusCode::kDeadlineExceeded: return errc::kTimeout;
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss: return errc::kProviderError;
    default: return errc::kStoreError;
  }
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

[[noreturn]] void Raise(const char* code, const std::string& message) {
  auto it = ByCode().find(code);
  PyObject* cls = it != ByCode().end() ? it->second.ptr() : ByCode().at(errc::kStoreError).ptr();
  PyErr_SetString(cls, message.c_str());
  throw py::error_already_set();
}

void ThrowStatus(const Status& status) {
  // A timeout's text is the bare message ("Operation timed out"), as the reference has it.
  const bool timeout = status.code() == StatusCode::kDeadlineExceeded;
  Raise(CodeOf(status.code()), timeout ? status.message() : status.ToString());
}

void RegisterExceptions(py::module_& m) {
  py::module_ errors = py::module_::import("duroxide.errors");
  for (py::handle name : errors.attr("__all__")) {
    py::object cls = errors.attr(name);
    m.attr(name) = cls;
    ByCode()[cls.attr("code").cast<std::string>()] = cls;
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
      PyErr_SetString(ByCode().at(errc::kStoreError).ptr(), e.what());
    }
  });
}

}  // namespace duroxide::bindings
