// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Same-process activity hand-off. Internal to runtime/.
//
// A turn that schedules activities this runtime can run asks the provider to insert those
// worker rows already leased to it, in the turn's own commit (TurnCommit::lease_worker_items).
// Once the commit succeeded, the leases go into this runtime's LocalWork queue and a worker
// slot runs them without fetching them from the store; their completions are acknowledged like
// fetched ones. Durability is unchanged: the rows exist (locked) before anything runs, the
// lease is renewed while it waits here, and if the process dies the lock expires and any
// runtime fetches the row again (activities stay at-least-once).
//
// Thread-safety: LocalWork is thread-safe.
#ifndef DUROXIDE_RUNTIME_LOCAL_WORK_H_
#define DUROXIDE_RUNTIME_LOCAL_WORK_H_

#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "duroxide/providers/provider.h"

namespace duroxide::runtime {

struct RuntimeCore;

// Leases waiting for a worker slot. At most one per idle slot is taken: a runtime whose slots
// are busy leaves new activities in the store, where any runtime of the fleet can claim them
// (and where queue depths report them as pending, as without hand-off).
class LocalWork {
 public:
  // Reserves room for up to `want` leases: queued + reserved never exceed the idle worker
  // slots (`slots` minus the busy ones); returns how many were granted. A reservation ends
  // with Push or Unreserve.
  size_t Reserve(size_t want, size_t slots);
  void Unreserve(size_t n);
  // Queues `leases` (at most `reserved` of them) and ends that reservation.
  void Push(std::vector<providers::WorkItemLease> leases, size_t reserved);
  // Takes up to `max` queued leases; a slot that takes any is busy until EndBatch.
  std::vector<providers::WorkItemLease> Take(size_t max);
  // A slot that got work from the store is busy until EndBatch too.
  void BeginBatch();
  void EndBatch();
  // Removes and returns the queued leases beyond the idle slots (`slots` minus the busy ones):
  // a slot that was idle when its lease was reserved may have taken store work meanwhile.
  std::vector<providers::WorkItemLease> TakeSurplus(size_t slots);
  bool empty();


 private:
  std::mutex mu_;
  std::deque<providers::WorkItemLease> queue_;
  size_t reserved_ = 0;
  size_t busy_slots_ = 0;  // worker slots running a batch; the others are idle
};

// Marks the worker items of `commit` that this runtime will run itself (within the queue's
// capacity) and sets the lease deadline. Returns the number reserved (0: nothing requested).
size_t RequestLocalLeases(RuntimeCore* core, providers::TurnCommit* commit);
// After the turn's acknowledgement: registers the granted leases for renewal and queues them
// for the worker slots (`acked` false: nothing was committed, the reservation is dropped).
void AcceptLocalLeases(RuntimeCore* core, std::vector<providers::WorkItemLease> leases,
                       size_t reserved, bool acked);
// Hands every queued lease back to the store (shutdown, drain), or with `surplus_only` those
// no idle slot is left for, so they wait in the store (visible as pending, claimable by other
// runtimes) instead of behind this runtime's busy slots.
void ReturnLocalWork(RuntimeCore* core, bool surplus_only = false);

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_LOCAL_WORK_H_
