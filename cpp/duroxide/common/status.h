// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Status and Result<T>: the error model of the core (see docs/architecture.md).
// OK costs nothing; a failure carries a code, the operation that failed and a message.
// Retry policy follows the code: kUnavailable = retry the call, kAborted = abandon and
// redeliver, kFailedPrecondition / kDataLoss = permanent.
#ifndef DUROXIDE_COMMON_STATUS_H_
#define DUROXIDE_COMMON_STATUS_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace duroxide {

enum class StatusCode {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kFailedPrecondition,
  kAborted,
  kUnavailable,
  kDeadlineExceeded,
  kCancelled,
  kInternal,
  kDataLoss,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string operation, std::string message);

  static Status Ok() { return Status(); }
  // One factory per failure code, written once: Status::NotFound(op, msg) is
  // Status(StatusCode::kNotFound, op, msg).
#define DUROXIDE_STATUS_FACTORY(Code)                                   \
  static Status Code(std::string op, std::string msg) {                 \
    return Status(StatusCode::k##Code, std::move(op), std::move(msg)); \
  }
  DUROXIDE_STATUS_FACTORY(NotFound)
  DUROXIDE_STATUS_FACTORY(AlreadyExists)
  DUROXIDE_STATUS_FACTORY(InvalidArgument)
  DUROXIDE_STATUS_FACTORY(FailedPrecondition)
  DUROXIDE_STATUS_FACTORY(Aborted)
  DUROXIDE_STATUS_FACTORY(Unavailable)
  DUROXIDE_STATUS_FACTORY(DeadlineExceeded)
  DUROXIDE_STATUS_FACTORY(Internal)
  DUROXIDE_STATUS_FACTORY(DataLoss)
#undef DUROXIDE_STATUS_FACTORY

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  const std::string& operation() const;
  const std::string& message() const;
  // True when retrying the same call may succeed (kUnavailable) or the work item should be
  // redelivered (kAborted).
  bool retryable() const {
    return code() == StatusCode::kUnavailable || code() == StatusCode::kAborted;
  }
  // "<operation>: <message>" or "OK".
  std::string ToString() const;

 private:
  struct State {
    StatusCode code;
    std::string operation;
    std::string message;
  };
  std::shared_ptr<const State> state_;
};

// A value or a failed Status. Access to value() on a failed Result is a programmer bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

#define DUROXIDE_RETURN_IF_ERROR(expr)  \
  do {                                  \
    ::duroxide::Status _st = (expr);    \
    if (!_st.ok()) return _st;          \
  } while (0)

}  // namespace duroxide

#endif  // DUROXIDE_COMMON_STATUS_H_
