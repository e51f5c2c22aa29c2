// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/history/error_details.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace duroxide::history {

namespace {

// The three fields every kind of failure has; the factories and FromJson build on it.
ErrorDetails Make(ErrorDetails::Category category, std::string kind, std::string message) {
  ErrorDetails e;
  e.category = category;
  e.kind = std::move(kind);
  e.message = std::move(message);
  return e;
}

}  // namespace

ErrorDetails ErrorDetails::Application(std::string kind, std::string message) {
  return Make(Category::kApplication, std::move(kind), std::move(message));
}

ErrorDetails ErrorDetails::ActivityFailure(std::string message, std::string traceback) {
  ErrorDetails e = Application("ActivityFailed", std::move(message));
  e.traceback = BoundTraceback(std::move(traceback));
  return e;
}

std::string ErrorDetails::BoundTraceback(std::string text) {
  if (text.size() <= kMaxTracebackBytes) return text;
  static const std::string kNote = "\n  ... (traceback truncated)";
  size_t cut = kMaxTracebackBytes - kNote.size();
  // Never split a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text + kNote;
}

ErrorDetails ErrorDetails::Cancelled(std::string reason) {
  ErrorDetails e = Make(Category::kApplication, "Cancelled", "");
  e.reason = std::move(reason);
  return e;
}

ErrorDetails ErrorDetails::Terminated(std::string reason) {
  ErrorDetails e = Cancelled(std::move(reason));
  e.kind = "Terminated";
  return e;
}

ErrorDetails ErrorDetails::Configuration(std::string kind, std::string message) {
  return Make(Category::kConfiguration, std::move(kind), std::move(message));
}

ErrorDetails ErrorDetails::Infrastructure(std::string operation, std::string message) {
  return Make(Category::kInfrastructure, std::move(operation), std::move(message));
}

int64_t JsonToInt64(const nlohmann::json& v, const char* key) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw std::runtime_error(std::string("field '") + key + "' is out of range");
    }
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^63 is exactly representable; every double below it fits in int64.
    if (std::isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
        std::trunc(d) == d) {
      return static_cast<int64_t>(d);
    }
    throw std::runtime_error(std::string("field '") + key + "' is not an int64 integer");
  }
  throw std::runtime_error(std::string("field '") + key + "' must be an integer");
}

ErrorDetails ErrorDetails::Poison(std::string kind, int64_t attempts, int64_t max_attempts,
                                  std::string message) {
  ErrorDetails e = Make(Category::kPoison, std::move(kind), std::move(message));
  e.attempt_count = attempts;
  e.max_attempts = max_attempts;
  return e;
}

const char* ErrorDetails::CategoryName(Category category) {
  switch (category) {
    case Category::kApplication: return "Application";
    case Category::kConfiguration: return "Configuration";
    case Category::kInfrastructure: return "Infrastructure";
    case Category::kPoison: return "Poison";
  }
  return "Application";
}

std::string ErrorDetails::DisplayMessage() const {
  switch (category) {
    case Category::kApplication:
      if (kind == "Cancelled") return "canceled: " + reason;
      if (kind == "Terminated") return "terminated: " + reason;
      if (kind == "Panicked") return "orchestration panicked: " + message;
      return message;
    case Category::kConfiguration:
      if (kind == "Nondeterminism") return "nondeterministic: " + message;
      return message;
    case Category::kInfrastructure:
      return "infrastructure:" + kind + ": " + message;
    case Category::kPoison:
      return "poison: " + message;
  }
  return message;
}

nlohmann::json ErrorDetails::ToJson() const {
  using nlohmann::json;
  switch (category) {
    case Category::kApplication: {
      json body = {{"message", message}, {"retryable", retryable}};
      if (!traceback.empty()) body["traceback"] = traceback;
      if (kind == "Cancelled" || kind == "Terminated") {
        body["kind"] = json{{kind, json{{"reason", reason}}}};
      } else {
        body["kind"] = kind;
      }
      return json{{"Application", body}};
    }
    case Category::kConfiguration:
      return json{{"Configuration", json{{"kind", kind}, {"message", message}}}};
    case Category::kInfrastructure:
      return json{{"Infrastructure",
                   json{{"operation", kind}, {"message", message}, {"retryable", retryable}}}};
    case Category::kPoison:
      return json{{"Poison", json{{"message_type", kind},
                                  {"attempt_count", attempt_count},
                                  {"max_attempts", max_attempts},
                                  {"message", message}}}};
  }
  return json();
}

bool ErrorDetails::FromJson(const nlohmann::json& j, ErrorDetails* out) {
  if (!j.is_object() || j.size() != 1) return false;
  auto first = j.begin();
  const std::string tag = first.key();
  const nlohmann::json& body = first.value();
  if (!body.is_object()) return false;
  ErrorDetails e;
  auto str = [&](const char* key) {
    auto it = body.find(key);
    return (it != body.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  auto flag = [&](const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_boolean() && it->get<bool>();
  };
  if (tag == "Application") {
    e.category = Category::kApplication;
    auto kind = body.find("kind");
    const bool with_reason = kind != body.end() && kind->is_object() &&
                             (kind->contains("Cancelled") || kind->contains("Terminated"));
    if (with_reason) {
      e.kind = kind->contains("Cancelled") ? "Cancelled" : "Terminated";
      const auto& c = (*kind)[e.kind];
      if (c.is_object() && c.contains("reason") && c["reason"].is_string()) {
        e.reason = c["reason"].get<std::string>();
      }
    } else if (kind != body.end() && kind->is_string()) {
      e.kind = kind->get<std::string>();
    }
    e.message = str("message");
    e.traceback = str("traceback");
    e.retryable = flag("retryable");
  } else if (tag == "Configuration") {
    e = Make(Category::kConfiguration, str("kind"), str("message"));
  } else if (tag == "Infrastructure") {
    e = Make(Category::kInfrastructure, str("operation"), str("message"));
    e.retryable = flag("retryable");
  } else if (tag == "Poison") {
    e = Make(Category::kPoison, str("message_type"), str("message"));
    auto int_field = [&](const char* key, int64_t* v) {
      auto it = body.find(key);
      if (it == body.end() || it->is_null()) return true;
      try {
        *v = JsonToInt64(*it, key);
        return true;
      } catch (const std::runtime_error&) {
        return false;
      }
    };
    if (!int_field("attempt_count", &e.attempt_count) ||
        !int_field("max_attempts", &e.max_attempts)) {
      return false;
    }
  } else {
    return false;
  }
  *out = std::move(e);
  return true;
}

}  // namespace duroxide::history
