// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Binds a plain C++ result struct as a Python class from ONE list of its fields: the
// attributes, the constructor and __repr__ all come from that list, so adding a field to a
// result class is one line and the three can no longer disagree.
//
//   BindRecord<QueueDepths>(m, "QueueDepths", "Pending messages per queue.",
//                           Field("orchestrator_queue", &QueueDepths::orchestrator_queue), ...);
//
// BindRecord gives read-only attributes and a keyword constructor (each argument defaults to
// the field's empty value, 0 / "" / None, unless declared with Required). BindMutableRecord
// gives read-write attributes and a no-argument constructor, for classes Python fills in.
// Both return the py::class_ so a caller can chain extra members.
#ifndef DUROXIDE_BINDINGS_RECORD_H_
#define DUROXIDE_BINDINGS_RECORD_H_

#include "duroxide/bindings/pybind.h"

#include <utility>

#include "duroxide/bindings/repr.h"

namespace duroxide::bindings {

// Whether __repr__ prints a field (large or raw payloads are left out).
enum class InRepr { kYes, kNo };

// One field of T: its Python name and member. kRequired: a constructor argument without
// default.
template <typename T, typename V, bool kRequired = false>
struct RecordField {
  using Value = V;
  const char* name;
  V T::*member;
  InRepr in_repr;

  auto Arg() const {
    if constexpr (kRequired) {
      return py::arg(name);
    } else {
      return py::arg(name) = V{};
    }
  }
  void Print(ReprBuilder& b, const T& t) const {
    if (in_repr == InRepr::kYes) b.Field(name, t.*member);
  }
};

template <typename T, typename V>
RecordField<T, V> Field(const char* name, V T::*member, InRepr in_repr = InRepr::kYes) {
  return {name, member, in_repr};
}
template <typename T, typename V>
RecordField<T, V, true> Required(const char* name, V T::*member) {
  return {name, member, InRepr::kYes};
}

// __repr__ as `name(field=value, ...)` over the fields printed (ReprBuilder).
template <typename T, typename... F>
void DefRecordRepr(py::class_<T>& cls, const char* name, const F&... fields) {
  cls.def("__repr__", [name, fields...](const T& t) {
    ReprBuilder b(name);
    (fields.Print(b, t), ...);
    return b.Done();
  });
}

template <typename T, typename... F>
py::class_<T> BindRecord(py::module_& m, const char* name, const char* doc, const F&... fields) {
  py::class_<T> cls(m, name, doc);
  cls.def(py::init([fields...](typename F::Value... values) {
            T t{};
            ((t.*(fields.member) = std::move(values)), ...);
            return t;
          }),
          fields.Arg()...);
  (cls.def_readonly(fields.name, fields.member), ...);
  DefRecordRepr(cls, name, fields...);
  return cls;
}

template <typename T, typename... F>
py::class_<T> BindMutableRecord(py::module_& m, const char* name, const char* doc,
                                const F&... fields) {
  py::class_<T> cls(m, name, doc);
  cls.def(py::init<>());
  (cls.def_readwrite(fields.name, fields.member), ...);
  DefRecordRepr(cls, name, fields...);
  return cls;
}

}  // namespace duroxide::bindings

#endif  // DUROXIDE_BINDINGS_RECORD_H_
