// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/bindings/retry_policy.h"

#include <cctype>
#include <initializer_list>

namespace duroxide::bindings {

using replay::RetryPolicy;

namespace {

// The first of `keys` present with a value other than None (None when none is).
py::object Given(const py::dict& d, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (d.contains(k) && !d[k].is_none()) return d[k];
  }
  return py::none();
}

std::string Repr(py::handle v) { return py::repr(v).cast<std::string>(); }

}  // namespace

bool ParseRetry(py::handle obj, RetryPolicy* out, std::string* error, bool* wrong_type) {
  auto fail = [&](std::string message, bool type) {
    *error = std::move(message);
    if (wrong_type != nullptr) *wrong_type = type;
    return false;
  };
  if (!py::isinstance<py::dict>(obj)) {
    return fail("retry policy must be a dict, not " +
                    py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>(),
                true);
  }
  const py::dict d = py::reinterpret_borrow<py::dict>(obj);
  // An int field: a Python int (bool is not accepted) that fits int64 and is >= `min`.
  auto as_int = [&](std::initializer_list<const char*> keys, const char* name, int64_t min,
                    int64_t* dst) {
    py::object v = Given(d, keys);
    if (v.is_none()) return true;
    bool ok = py::isinstance<py::int_>(v) && !py::isinstance<py::bool_>(v);
    int64_t value = 0;
    if (ok) {
      try {
        value = v.cast<int64_t>();
      } catch (const py::cast_error&) {
        ok = false;
      }
    }
    if (!ok || value < min) {
      return fail(std::string(name) + " must be an int >= " + std::to_string(min) + ", got " +
                      Repr(v),
                  false);
    }
    *dst = value;
    return true;
  };
  if (!as_int({"max_attempts", "maxAttempts"}, "max_attempts", 1, &out->max_attempts) ||
      !as_int({"timeout_ms", "timeoutMs"}, "timeout_ms", 0, &out->timeout_ms) ||
      !as_int({"total_timeout_ms", "totalTimeoutMs"}, "total_timeout_ms", 0,
              &out->total_timeout_ms) ||
      !as_int({"avoid_window_ms", "avoidWindowMs"}, "avoid_window_ms", 0, &out->avoid_window_ms)) {
    return false;
  }
  py::object prefer = Given(d, {"prefer_different_worker", "preferDifferentWorker"});
  if (!prefer.is_none()) {
    if (!py::isinstance<py::bool_>(prefer)) {
      return fail("prefer_different_worker must be a bool, got " + Repr(prefer), true);
    }
    out->prefer_different_worker = prefer.cast<bool>();
  }
  py::object backoff = Given(d, {"backoff", "backoff_strategy", "backoffStrategy"});
  if (!backoff.is_none()) {
    std::string b = py::isinstance<py::str>(backoff) ? backoff.cast<std::string>() : "";
    for (auto& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (b == "none") {
      out->backoff = RetryPolicy::Backoff::kNone;
    } else if (b == "fixed") {
      out->backoff = RetryPolicy::Backoff::kFixed;
    } else if (b == "linear") {
      out->backoff = RetryPolicy::Backoff::kLinear;
    } else if (b == "exponential") {
      out->backoff = RetryPolicy::Backoff::kExponential;
    } else {
      return fail("backoff must be one of 'none', 'fixed', 'linear', 'exponential', got " +
                      Repr(backoff),
                  false);
    }
  }
  return true;
}

py::dict NormalizeRetryPolicy(py::object policy, const std::string& what) {
  if (policy.is_none()) policy = py::dict();
  RetryPolicy parsed;
  std::string error;
  bool wrong_type = false;
  if (!ParseRetry(policy, &parsed, &error, &wrong_type)) {
    Raise(wrong_type ? errc::kInvalidType : errc::kInvalidArgument, what + ": " + error);
  }
  const py::dict d = py::reinterpret_borrow<py::dict>(policy);
  py::dict out;
  out["maxAttempts"] = parsed.max_attempts;
  out["timeoutMs"] = Given(d, {"timeout_ms", "timeoutMs"});
  out["totalTimeoutMs"] = Given(d, {"total_timeout_ms", "totalTimeoutMs"});
  if (!Given(d, {"prefer_different_worker", "preferDifferentWorker"}).is_none()) {
    out["preferDifferentWorker"] = parsed.prefer_different_worker;
  }
  if (!Given(d, {"avoid_window_ms", "avoidWindowMs"}).is_none()) {
    out["avoidWindowMs"] = parsed.avoid_window_ms;
  }
  py::object backoff = Given(d, {"backoff", "backoff_strategy", "backoffStrategy"});
  out["backoff"] = backoff.is_none() ? backoff : backoff.attr("lower")();
  return out;
}

}  // namespace duroxide::bindings
