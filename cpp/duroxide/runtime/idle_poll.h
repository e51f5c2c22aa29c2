// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#ifndef DUROXIDE_RUNTIME_IDLE_POLL_H_
#define DUROXIDE_RUNTIME_IDLE_POLL_H_

#include <algorithm>
#include <cstdint>

#include "duroxide/runtime/runtime_core.h"

namespace duroxide::runtime {

// Where the provider hears other processes, the least an idle dispatcher's poll may be.
constexpr int64_t kHeardIdlePollMs = 100;

// The longest an idle dispatcher sleeps on its signal before it looks at the store again, when
// nothing is due earlier: dispatcher_poll_interval_ms, except where the provider hears other
// processes (PostgreSQL with its listener). There every commit that makes work visible, in any
// process, moves the signal, and the poll only bounds what no commit announces (the lock of a
// dead process that expires, a limit that admits again, a notification lost while the listener
// reconnected), so it is at least kHeardIdlePollMs: with eight worker processes at a 10 ms
// poll, these idle reads were most of an idle fleet's transactions (docs/performance.md,
// round 3, "Idle reads").
inline int64_t IdlePollMs(const RuntimeCore& core) {
  const int64_t poll = core.options.dispatcher_poll_interval_ms;
  return core.provider->HearsOtherProcesses() ? std::max(poll, kHeardIdlePollMs) : poll;
}

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_IDLE_POLL_H_
