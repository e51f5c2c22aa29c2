// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ErrorDetails: why an activity, a sub-orchestration or an orchestration failed. Failures of
// user code are data recorded in history, not C++ errors. Four categories:
//   Application    - user code raised; reaches user code as an exception (activities, children)
//   Configuration  - nondeterminism, unregistered handlers; fails the orchestration
//   Infrastructure - storage or runtime failure; fails the orchestration
//   Poison         - a message exceeded the maximum delivery attempts
#ifndef DUROXIDE_HISTORY_ERROR_DETAILS_H_
#define DUROXIDE_HISTORY_ERROR_DETAILS_H_

#include <string>

#include <nlohmann/json.hpp>

namespace duroxide::history {

// Reads an integer field of stored JSON: an integer in int64 range, or an integral float in
// range (the format only writes integers). Anything else throws std::runtime_error (decoders
// turn it into kDataLoss); never a silent out-of-range conversion, which is undefined.
int64_t JsonToInt64(const nlohmann::json& v, const char* key);

struct ErrorDetails {
  // The most a failure keeps of a traceback; longer ones are cut (BoundTraceback).
  static constexpr size_t kMaxTracebackBytes = 8192;

  enum class Category { kApplication, kConfiguration, kInfrastructure, kPoison };

  Category category = Category::kApplication;
  // Application: "ActivityFailed" | "OrchestrationFailed" | "Panicked" | "Cancelled" |
  // "Terminated" (client.terminate_instance: ended at once, no cancellation handling).
  // Configuration: "Nondeterminism" | "UnregisteredOrchestration" | "UnregisteredActivity"
  //                | "LimitExceeded".
  // Infrastructure: the failing operation. Poison: "Orchestration" | "Activity".
  std::string kind;
  std::string message;
  std::string reason;  // Application/Cancelled and Application/Terminated only
  // Application/ActivityFailed only: the activity's traceback as the worker formatted it
  // (root cause first, at most kMaxTracebackBytes). Optional in the encoding ("traceback"
  // next to "message"): histories written before it existed decode with it empty.
  std::string traceback;
  bool retryable = false;
  int64_t attempt_count = 0;  // Poison only
  int64_t max_attempts = 0;   // Poison only

  static ErrorDetails Application(std::string kind, std::string message);
  // An activity's failure with its traceback (bounded by BoundTraceback).
  static ErrorDetails ActivityFailure(std::string message, std::string traceback);
  static ErrorDetails Cancelled(std::string reason);
  static ErrorDetails Terminated(std::string reason);
  static ErrorDetails Configuration(std::string kind, std::string message);
  static ErrorDetails Infrastructure(std::string operation, std::string message);
  static ErrorDetails Poison(std::string kind, int64_t attempts, int64_t max_attempts,
                             std::string message);

  // The text users see in OrchestrationResult.error and in exceptions thrown into code:
  // "<message>", "canceled: <reason>", "nondeterministic: <msg>",
  // "infrastructure:<op>: <msg>", "poison: <msg>".
  std::string DisplayMessage() const;
  // "Application", "Configuration", "Infrastructure" or "Poison".
  static const char* CategoryName(Category category);
  bool IsApplication() const { return category == Category::kApplication; }

  // `text` cut to kMaxTracebackBytes (at a UTF-8 character boundary, with a note saying so).
  static std::string BoundTraceback(std::string text);

  // Externally tagged JSON: {"Application":{"kind":..,"message":..,"retryable":false}}.
  nlohmann::json ToJson() const;
  // Returns false when `j` is not a valid encoding.
  static bool FromJson(const nlohmann::json& j, ErrorDetails* out);
};

}  // namespace duroxide::history

#endif  // DUROXIDE_HISTORY_ERROR_DETAILS_H_
