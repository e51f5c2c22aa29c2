// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The one retry-policy validator. schedule_activity_with_retry* (workflow/context.py) and task
// graphs (workflow/graphs.py) call it at the call site through _core._normalize_retry_policy,
// so bad input raises where it is written; the task parser (py_invoker.cc) applies the same
// function to the normalised dict the orchestration yields. REQUIRES: the GIL.
#ifndef DUROXIDE_BINDINGS_RETRY_POLICY_H_
#define DUROXIDE_BINDINGS_RETRY_POLICY_H_

#include <string>

#include "duroxide/bindings/pybind.h"
#include "duroxide/replay/task.h"

namespace duroxide::bindings {

// Parses a retry-policy dict into `out`. Every field may be spelled snake_case or camelCase
// (max_attempts/maxAttempts, timeout_ms/timeoutMs, total_timeout_ms/totalTimeoutMs,
// prefer_different_worker/preferDifferentWorker, avoid_window_ms/avoidWindowMs,
// backoff/backoff_strategy/backoffStrategy); None means "not given". Integers must be ints
// (not bools): max_attempts >= 1, the others >= 0; prefer_different_worker a bool; backoff one
// of none, fixed, linear, exponential (any case). On failure returns false with *error naming
// the field and the value, and *wrong_type true when the value has the wrong type (a
// TypeError) rather than a bad value (a ValueError).
bool ParseRetry(py::handle obj, replay::RetryPolicy* out, std::string* error, bool* wrong_type);

// _core._normalize_retry_policy(policy, what): None is the default policy. Returns the
// camelCase form (maxAttempts, timeoutMs, totalTimeoutMs, backoff lower-cased; the last three
// None when not given; preferDifferentWorker and avoidWindowMs only when given). Raises
// duroxide.InvalidTypeError / InvalidArgumentError "<what>: <problem>".
py::dict NormalizeRetryPolicy(py::object policy, const std::string& what);

}  // namespace duroxide::bindings

#endif  // DUROXIDE_BINDINGS_RETRY_POLICY_H_
