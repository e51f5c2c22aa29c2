// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The completion relay (docs/performance.md, round 3, "Completions ride with the next
// orchestration fetch"). Internal to runtime/.
//
// On a provider whose Provider::RelaysWorkAcks() is true (PostgreSQL), a worker slot does not
// acknowledge the activities it ran in a transaction of its own: it hands the acknowledgements
// (lease token and completion) to this relay and wakes an orchestration dispatcher, whose next
// store call - the acknowledgement of its turns and the fetch of the next ones, which it makes
// anyway - commits them first (Provider::AckWorkTurnsAndFetch). The fetch then sees the
// completions, so the instance's next turn is usually fetched in the same transaction that
// queued its completion, and that transaction waits for no WAL flush on the completions'
// account. Nothing about the acknowledgement itself changes: it is the ordinary worker ack
// (row deleted only while the lease is held, completion queued atomically with it), so history
// stays exactly-once, and a completion lost before its ack commits (crash, shutdown) only
// leaves the row leased until its lease expires and the activity runs again (at least once).
//
// Fallbacks to the ordinary acknowledgement (the worker acknowledges in its own store call):
// a runtime without orchestration dispatchers, a runtime stopping or draining, a worker lock
// timeout too short to cover the wait, and any relayed ack older than kRelayBoundMs (a
// dispatcher busy with a long turn): the worker slots take those back at their next loop.
//
// Thread-safety: CompletionRelay is thread-safe.
#ifndef DUROXIDE_RUNTIME_COMPLETION_RELAY_H_
#define DUROXIDE_RUNTIME_COMPLETION_RELAY_H_

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/provider.h"

namespace duroxide::runtime {

struct RuntimeCore;

// How long a relayed acknowledgement may wait for a dispatcher before a worker slot makes it
// itself. Far below any worker lock timeout the relay is used with (kRelayMinLockMs).
constexpr int64_t kRelayBoundMs = 20;
constexpr int64_t kRelayMinLockMs = 1000;

class CompletionRelay {
 public:
  struct Item {
    providers::WorkAck ack;
    std::string instance;       // for the log line of a discarded result
    std::string activity_name;
    int64_t relayed_at_ms = 0;
  };
  // Decided once when the runtime starts (Configure); false: Push is never called.
  bool enabled() const { return enabled_; }
  void Configure(bool enabled, int64_t hold_ms) {
    enabled_ = enabled;
    hold_ms_ = hold_ms;
  }
  void Push(std::vector<Item> items);
  // Everything relayed that a dispatcher may take now (all of it, unless a test hold applies).
  std::vector<Item> TakeForDispatcher(int64_t now_ms);
  // Items relayed before now_ms - max(kRelayBoundMs, hold) (all with `all`): a worker slot
  // acknowledges them itself.
  std::vector<Item> TakeStale(int64_t now_ms, bool all);
  bool empty();

 private:
  std::mutex mu_;
  std::deque<Item> items_;
  bool enabled_ = false;
  // Test hook (DUROXIDE_TEST_RELAY_HOLD_MS): relayed acks wait at least this long, so a test
  // can kill the process or cancel the activity between the activity's end and its commit.
  int64_t hold_ms_ = 0;
};

// Decides whether the runtime relays completions (provider capability, dispatchers present,
// lock timeout, DUROXIDE_COMPLETION_RELAY=off for A/B runs) and reads the test hold.
void ConfigureRelay(RuntimeCore* core);
// Relays `acks` (made by a worker slot; (*tasks)[i] is the activity of acks[i]) when the relay
// is enabled and the runtime is not stopping, and wakes a dispatcher; returns the acks the
// caller must make itself (all of them when not relayed) and leaves in *tasks their activities,
// in the same order. An activity under a named limit is never relayed: its worker's own ack
// frees the slot in the store call that fetches the next batch, which can take the next
// waiting activity at once; relayed, the slot would stay empty until the relay's commit and a
// later fetch.
std::vector<providers::WorkAck> RelayAcks(RuntimeCore* core, std::vector<providers::WorkAck> acks,
                                          std::vector<const history::WorkItem*>* tasks);
// Acknowledges relayed items in the worker's own store call (fallback) and settles them.
void AckRelayedDirectly(RuntimeCore* core, std::vector<CompletionRelay::Item> items);
// After a relayed ack was made: counts and logs a failure as ReportAck does (a storage fault
// hands the item back at once).
void SettleRelayed(RuntimeCore* core, const std::vector<CompletionRelay::Item>& items,
                   const std::vector<Status>& acked);
// The worker's report of a failed activity acknowledgement (the row is gone: result
// discarded; a storage fault: the item is handed back without counting the delivery).
void ReportWorkAck(RuntimeCore* core, const Status& st, const std::string& instance,
                   const std::string& activity_name, const std::string& lock_token);

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_COMPLETION_RELAY_H_
