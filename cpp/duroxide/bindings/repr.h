// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ReprBuilder: the one way binding classes spell their Python __repr__, so every result class
// prints as `Name(field=value, ...)` with strings quoted and absent optionals as None.
#ifndef DUROXIDE_BINDINGS_REPR_H_
#define DUROXIDE_BINDINGS_REPR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace duroxide::bindings {

class ReprBuilder {
 public:
  explicit ReprBuilder(const char* class_name) : text_(class_name) { text_ += '('; }

  ReprBuilder& Field(const char* name, int64_t value) {
    return Raw(name, std::to_string(value));
  }
  ReprBuilder& Field(const char* name, const std::string& value) {
    return Raw(name, Quote(value));
  }
  ReprBuilder& Field(const char* name, const std::optional<int64_t>& value) {
    return Raw(name, value ? std::to_string(*value) : std::string("None"));
  }
  ReprBuilder& Field(const char* name, const std::optional<std::string>& value) {
    return Raw(name, value ? Quote(*value) : std::string("None"));
  }
  ReprBuilder& Field(const char* name, const std::optional<std::vector<std::string>>& value) {
    if (!value) return Raw(name, "None");
    std::string list = "[";
    for (size_t i = 0; i < value->size(); ++i) list += (i ? ", " : "") + Quote((*value)[i]);
    return Raw(name, list + "]");
  }
  // The finished text, e.g. "QueueDepths(orchestrator_queue=1, worker_queue=0)".
  std::string Done() const { return text_ + ')'; }

 private:
  static std::string Quote(const std::string& s) { return "'" + s + "'"; }
  ReprBuilder& Raw(const char* name, const std::string& value) {
    if (!first_) text_ += ", ";
    first_ = false;
    text_ += name;
    text_ += '=';
    text_ += value;
    return *this;
  }

  std::string text_;
  bool first_ = true;
};

}  // namespace duroxide::bindings

#endif  // DUROXIDE_BINDINGS_REPR_H_
