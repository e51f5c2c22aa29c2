// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The one place where core Status values become Python exceptions. Every class derives from
// RuntimeError, so programs written against the reference (which raises RuntimeError for
// every core error) keep working.
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

void ThrowStatus(const Status& status) {
  const char* cls = "DuroxideError";
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
  PyErr_SetString(Cls(cls).ptr(), message.c_str());
  throw py::error_already_set();
}

void RegisterExceptions(py::module_& m) {
  auto make = [&](const char* name, py::object base, const char* doc) {
    py::object cls = py::reinterpret_steal<py::object>(
        PyErr_NewExceptionWithDoc((std::string("duroxide._core.") + name).c_str(), doc,
                                  base.ptr(), nullptr));
    m.attr(name) = cls;
    Cls(name) = cls;
  };
  make("DuroxideError", py::reinterpret_borrow<py::object>(PyExc_RuntimeError),
       "Base class of duroxide errors (a RuntimeError).");
  py::object base = Cls("DuroxideError");
  make("NotFoundError", base, "The instance, execution or item does not exist.");
  make("InstanceAlreadyExistsError", base, "An instance with this id already exists.");
  make("OperationTimedOutError", base, "A wait ran out of time ('Operation timed out').");
  make("ProviderError", base, "The storage provider failed.");
  py::object invalid = py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(
      "duroxide._core.InvalidArgumentError", "An argument was rejected.",
      py::make_tuple(base, py::reinterpret_borrow<py::object>(PyExc_ValueError)).ptr(), nullptr));
  m.attr("InvalidArgumentError") = invalid;
  Cls("InvalidArgumentError") = invalid;
}

}  // namespace duroxide::bindings
