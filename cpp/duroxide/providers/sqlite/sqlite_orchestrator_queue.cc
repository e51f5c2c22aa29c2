// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: the orchestrator queue (fetch under per-instance locks, abandon, renew) and
// the turn commit. Fetches and acknowledgements are split into the part that runs inside the
// transaction (*Tx) and the CPU work before or after it, so that the group commit can put
// several acknowledgements and the next fetch in one transaction.
#include <algorithm>
#include <climits>
#include <functional>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using history::WorkItem;
using history::WorkItemKind;
using internal::Batched;

namespace {

// An orchestration lock token is "<stored token><instance id>": the stored part (NewToken,
// "o-" and 32 hex digits) is what instance_locks and the batch's queue rows hold; the instance
// id lets acks, abandons and renewals find the lock by primary key.
constexpr size_t kStoredTokenLength = 34;

std::string LockToken(const std::string& stored, const std::string& instance) {
  return stored + instance;
}

struct ParsedLockToken {
  std::string stored;
  std::string instance;  // empty (matches no lock) if the token is not one of ours
};

ParsedLockToken ParseLockToken(const std::string& token) {
  ParsedLockToken out;
  if (token.size() > kStoredTokenLength && token.compare(0, 2, "o-") == 0) {
    out.stored = token.substr(0, kStoredTokenLength);
    out.instance = token.substr(kStoredTokenLength);
  }
  return out;
}

bool EndsExecution(ExecutionStatus s) {
  return s == ExecutionStatus::kCompleted || s == ExecutionStatus::kFailed ||
         s == ExecutionStatus::kContinuedAsNew;
}

}  // namespace

Status SqliteProvider::OrchestrationFetchTx(int64_t lock_timeout_ms, const FetchHint* hint,
                                           OrchestrationFetchState* st, int64_t* scan_from) {
  *st = OrchestrationFetchState();  // the group commit may run this again
  const int64_t now = NowMs();
  st->item.lock_token = NewToken("o-");
  {
    ScopedStatement s(*fetch_lock_);
    BindAll(s.get(), st->item.lock_token, now + lock_timeout_ms, now, *scan_from);
    if (!s->executeStep()) return Status::Ok();
    st->item.instance = s->getColumn(0).getString();
  }
  {
    ScopedStatement s(*fetch_tag_);
    BindAll(s.get(), st->item.lock_token, st->item.instance, now);
    int64_t lowest_rank = INT64_MAX;
    while (s->executeStep()) {
      st->rows.emplace_back(s->getColumn(0).getInt64(), s->getColumn(1).getString(),
                        s->getColumn(2).getInt64());
      lowest_rank = std::min(lowest_rank, s->getColumn(3).getInt64());
    }
    // The picked message was the first eligible one in claim order (queue_order.h) and has
    // the lowest rank of its instance's visible messages; every row ranked lower is
    // ineligible for the rest of this transaction (locked or not yet visible), so the next
    // fetch in it may start scanning at that rank.
    if (!st->rows.empty()) *scan_from = lowest_rank;
  }
  // A limited start takes its instance's slot in this transaction (limit_store.h); the fetch
  // predicate only let it through if it already holds one, has room, or is being cancelled.
  // Looked for in the text first, so unlimited batches run no statement.
  for (const auto& row : st->rows) {
    if (std::get<1>(row).find("\"limit\"") == std::string::npos) continue;
    TakeOrchestrationSlot(st->item.instance, now);
    break;
  }
  st->item.lock_token = LockToken(st->item.lock_token, st->item.instance);
  ReadLockedInstanceTx(hint, st);
  st->found = true;
  return Status::Ok();
}

void SqliteProvider::ReadLockedInstanceTx(const FetchHint* hint, OrchestrationFetchState* st) {
  // A record that cannot be interpreted is reported like an undecodable history: the
  // batch must still come back locked so the runtime can fail the instance.
  try {
    st->item.record = ReadRecord(st->item.instance, &st->item.last_event_id);
  } catch (const internal::DataLossError& e) {
    st->item.history_error = Status::DataLoss("FetchOrchestrationItem", e.what());
  }
  // No instance row means no committed turn: the first ack writes the row, its history and its
  // KV together, so there is nothing more to read for a new instance.
  if (!st->item.record && st->item.history_error.ok()) return;
  const int64_t exec_id = st->item.record ? st->item.record->current_execution_id : int64_t{1};
  if (!st->item.record) {  // unreadable record: look up the last event on its own
    ScopedStatement s(*last_event_id_);
    BindAll(s.get(), st->item.instance, exec_id);
    if (s->executeStep() && !s->getColumn(0).isNull()) st->item.last_event_id = s->getColumn(0).getInt64();
  }
  std::optional<CachedHistory> cached;
  if (hint && hint->cached && st->item.record) cached = hint->cached(st->item.instance);
  if (cached && cached->execution_id == exec_id && cached->last_event_id == st->item.last_event_id &&
      cached->instance_created_at_ms == st->item.record->created_at_ms && st->item.last_event_id > 0) {
    st->item.history_loaded = false;
  } else {
    ScopedStatement s(*read_history_);
    BindAll(s.get(), st->item.instance, exec_id);
    while (s->executeStep()) st->events.push_back(s->getColumn(0).getString());
  }
  ScopedStatement s(*read_kv_store_);
  s->bind(1, st->item.instance);
  while (s->executeStep()) {
    st->item.kv_snapshot[s->getColumn(0).getString()] =
        KvEntry{s->getColumn(1).getString(), s->getColumn(2).getInt64()};
  }
}

void SqliteProvider::TakeOrchestrationSlot(const std::string& instance, int64_t now) {
  static const std::string sql = NumberedPlaceholders(OrchestrationSlotInsertSql());
  ScopedStatement s(Prepared(sql.c_str()));
  s->bind(1, instance);
  s->bind(2, now);
  s->exec();
}

Result<std::optional<OrchestrationItem>> SqliteProvider::FinishOrchestrationFetch(
    const Status& tx, OrchestrationFetchState* st) {
  using Out = std::optional<OrchestrationItem>;
  if (!tx.ok()) return tx;
  if (!st->found) return Out();
  // JSON decoding happens after the connection is released.
  DecodeFetchedBatch("FetchOrchestrationItem", std::move(st->rows), st->events, &st->item);
  return Out(std::move(st->item));
}

Result<std::optional<OrchestrationItem>> SqliteProvider::FetchOrchestrationItem(
    int64_t lock_timeout_ms, const FetchHint* hint) {
  OrchestrationFetchState st;
  const std::function<Status()> fn = [&] {
    int64_t scan_from = INT64_MIN;
    return OrchestrationFetchTx(lock_timeout_ms, hint, &st, &scan_from);
  };
  return FinishOrchestrationFetch(group_->Run("FetchOrchestrationItem", fn), &st);
}

Status SqliteProvider::EncodeTurnCommit(const TurnCommit& commit, EncodedCommit* enc) {
  Status valid = store::ValidateTurnCommit("AckOrchestrationItem", commit);
  if (!valid.ok()) return valid;
  enc->events.reserve(commit.new_events.size());
  for (const history::Event& e : commit.new_events) enc->events.push_back(history::EncodeEvent(e));
  for (const WorkItem& w : commit.worker_items) {
    enc->worker_items.push_back(history::EncodeWorkItem(w));
  }
  return Status::Ok();
}

Status SqliteProvider::AckOrchestrationTx(const std::string& lock_token, const TurnCommit& commit,
                                         const EncodedCommit& enc, bool* more_messages,
                                         std::string* acked_instance,
                                         std::vector<WorkItemLease>* leases) {
  if (leases != nullptr) leases->clear();  // the group commit may run this again
  // more_messages == nullptr: the caller does not need to know (a fetch follows in the same
  // transaction and will take those messages).
  const int64_t now = NowMs();
  std::string instance;
  Status unlocked = AckUnlockTx(lock_token, now, &instance);
  if (!unlocked.ok()) return unlocked;
  *acked_instance = instance;
  AckHistoryTx(instance, commit, enc, now);
  if (!commit.kv_mutations.empty()) ApplyKvMutations(instance, commit.kv_mutations);
  if (EndsExecution(commit.status)) MergeKvDelta(instance);
  if (!commit.messaging.empty() || commit.status == ExecutionStatus::kCompleted ||
      commit.status == ExecutionStatus::kFailed) {
    ApplyMessagingTx(instance, commit, now);
  }
  AckQueuesTx(commit, enc, now, leases);
  // Messages that arrived during the lock are fetchable now; wake the dispatchers for them.
  if (more_messages != nullptr) {
    ScopedStatement s(*ack_remaining_);
    s->bind(1, instance);
    *more_messages = s->executeStep() && s->getColumn(0).getInt() != 0;
  }
  return Status::Ok();
}

// Validates the lock and releases it in one statement (a later failure rolls it back), and
// deletes the messages the turn consumed.
Status SqliteProvider::AckUnlockTx(const std::string& lock_token, int64_t now,
                                   std::string* instance) {
  const ParsedLockToken token = ParseLockToken(lock_token);
  {
    ScopedStatement s(*ack_unlock_);
    BindAll(s.get(), token.stored, now, token.instance);
    if (!s->executeStep()) return store::InstanceLockGone("AckOrchestrationItem", lock_token);
    *instance = s->getColumn(0).getString();
  }
  ScopedStatement s(*ack_delete_messages_);
  BindAll(s.get(), token.stored, *instance);
  s->exec();
  return Status::Ok();
}

// The instance, execution and history rows of the turn.
void SqliteProvider::AckHistoryTx(const std::string& instance, const TurnCommit& commit,
                                  const EncodedCommit& enc, int64_t now) {
  if (commit.new_execution) {
    {
      ScopedStatement s(*ack_upsert_instance_);
      s->bind(1, instance);
      s->bind(2, commit.orchestration_name);
      s->bind(3, commit.orchestration_version);
      s->bind(4, commit.execution_id);
      BindOptional(s.get(), 5, commit.parent_instance_id);
      s->bind(6, now);
      s->bind(7, commit.instance_created_at_ms > 0 ? commit.instance_created_at_ms : now);
      s->exec();
    }
    ScopedStatement s(*ack_insert_execution_);
    s->bind(1, instance);
    s->bind(2, commit.execution_id);
    s->bind(3, now);
    s->exec();
  }
  for (size_t i = 0; i < enc.events.size(); ++i) {
    const history::Event& e = commit.new_events[i];
    ScopedStatement s(*ack_insert_event_);
    s->bind(1, instance);
    s->bind(2, commit.execution_id);
    s->bind(3, e.event_id);
    s->bind(4, history::EventKindName(e.kind));
    s->bind(5, enc.events[i]);
    s->bind(6, now);
    s->exec();
  }
  if (commit.status != ExecutionStatus::kRunning) {
    ScopedStatement s(*ack_finish_execution_);
    s->bind(1, instance);
    s->bind(2, commit.execution_id);
    s->bind(3, ExecutionStatusName(commit.status));
    BindOptional(s.get(), 4, commit.output);
    BindOptional(s.get(), 5, commit.error);
    s->bind(6, now);
    s->exec();
  }
  if (!commit.new_execution || commit.custom_status_changed) {
    ScopedStatement s(*ack_touch_instance_);
    s->bind(1, instance);
    s->bind(2, now);
    s->bind(3, commit.custom_status_changed ? 1 : 0);
    BindOptional(s.get(), 4, commit.custom_status);
    s->exec();
  }
}

// The work the turn sends: worker items (some inserted leased to the caller), cancelled
// activities, orchestrator items.
void SqliteProvider::AckQueuesTx(const TurnCommit& commit, const EncodedCommit& enc, int64_t now,
                                 std::vector<WorkItemLease>* leases) {
  std::string last_schema_hash;
  const bool lease = leases != nullptr && commit.worker_lease_until_ms > 0;
  for (size_t i = 0; i < enc.worker_items.size(); ++i) {
    if (!lease || i >= commit.lease_worker_items.size() || !commit.lease_worker_items[i]) {
      InsertWorkerItem(commit.worker_items[i], enc.worker_items[i], now, &last_schema_hash);
      continue;
    }
    const std::string stored = NewToken("w-");
    const int64_t row = InsertWorkerItem(commit.worker_items[i], enc.worker_items[i], now,
                                         &last_schema_hash, &stored, commit.worker_lease_until_ms);
    leases->push_back(
        WorkItemLease{commit.worker_items[i], internal::WorkerLeaseToken(stored, row), 1});
  }
  // After the inserts, so an activity scheduled and cancelled in one turn disappears.
  for (const ActivityRef& ref : commit.cancelled_activities) {
    ScopedStatement s(*cancel_activity_);
    s->bind(1, ref.instance);
    s->bind(2, ref.execution_id);
    s->bind(3, ref.activity_id);
    s->exec();
  }
  for (const WorkItem& o : commit.orchestrator_items) {
    InsertOrchestratorItem(o, o.kind == WorkItemKind::kTimerFired ? o.fire_at_ms : now, now);
  }
}

Status SqliteProvider::AckOrchestrationItem(const std::string& lock_token,
                                            const TurnCommit& commit) {
  return AckOrchestrationItemsAndFetch({TurnAck{lock_token, &commit}}, nullptr)[0];
}

Result<std::vector<OrchestrationItem>> SqliteProvider::FetchOrchestrationItems(
    size_t max_items, int64_t lock_timeout_ms, const FetchHint* hint) {
  std::vector<OrchestrationFetchState> states;
  const std::function<Status()> fn = [&] {
    return OrchestrationFetchManyTx(max_items, lock_timeout_ms, hint, &states);
  };
  return FinishOrchestrationFetchMany(group_->Run("FetchOrchestrationItem", fn), &states);
}

Status SqliteProvider::OrchestrationFetchManyTx(size_t max_items, int64_t lock_timeout_ms,
                                               const FetchHint* hint,
                                               std::vector<OrchestrationFetchState>* states) {
  int64_t scan_from = INT64_MIN;
  return internal::FetchUpTo(max_items, states, [&](OrchestrationFetchState* st) {
    return OrchestrationFetchTx(lock_timeout_ms, hint, st, &scan_from);
  });
}

Result<std::vector<OrchestrationItem>> SqliteProvider::FinishOrchestrationFetchMany(
    const Status& tx, std::vector<OrchestrationFetchState>* states) {
  return internal::FinishEach<OrchestrationItem>(
      tx, states, [this](const Status& ok, OrchestrationFetchState* st) {
        return FinishOrchestrationFetch(ok, st);
      });
}

std::vector<Status> SqliteProvider::AckOrchestrationItemsAndFetch(const std::vector<TurnAck>& acks,
                                                                  NextOrchestrationFetch* next) {
  // Validate and encode before taking the connection: both are pure CPU work.
  struct AckState {
    EncodedCommit enc;
    Status invalid;
    bool more_messages = false;
    std::string instance;
    std::function<Status()> fn;
  };
  std::vector<AckState> states(acks.size());
  const bool fetch_follows = next != nullptr && next->max_items > 0;
  std::vector<internal::GroupCommit::Op> ops;
  ops.reserve(acks.size() + 1);
  for (size_t i = 0; i < acks.size(); ++i) {
    AckState& a = states[i];
    a.invalid = EncodeTurnCommit(*acks[i].commit, &a.enc);
    if (!a.invalid.ok()) continue;
    a.fn = [this, &a, &ack = acks[i], fetch_follows] {
      return AckOrchestrationTx(ack.lock_token, *ack.commit, a.enc,
                                fetch_follows ? nullptr : &a.more_messages, &a.instance,
                                ack.leases);
    };
    ops.push_back({"AckOrchestrationItem", &a.fn});
  }
  std::vector<OrchestrationFetchState> fetched;
  std::function<Status()> fetch;
  if (next && next->max_items > 0) {
    fetch = [&] {
      return OrchestrationFetchManyTx(next->max_items, next->lock_timeout_ms, next->hint, &fetched);
    };
    ops.push_back({"FetchOrchestrationItem", &fetch});
  }
  std::vector<Status> results = ops.empty() ? std::vector<Status>() : group_->RunAll(ops);
  // A fetch that filled its batch may have left work behind (also messages that arrived for
  // the acked instances during their locks): let an idle dispatcher look.
  bool more_work = false;
  if (next) {
    if (fetch) {
      more_work = !results.back().ok() || fetched.size() >= next->max_items;
      next->result.emplace(FinishOrchestrationFetchMany(results.back(), &fetched));
    } else {
      next->result.emplace(std::vector<OrchestrationItem>());
    }
  }

  std::vector<Status> out;
  out.reserve(acks.size());
  size_t r = 0;
  int orchestrator_wake = 0, worker_wake = 0;
  for (size_t i = 0; i < acks.size(); ++i) {
    AckState& a = states[i];
    if (!a.invalid.ok()) {
      out.push_back(a.invalid);
      continue;
    }
    out.push_back(results[r++]);
    if (!out.back().ok()) {
      if (acks[i].leases != nullptr) acks[i].leases->clear();  // nothing was committed
      continue;
    }
    const TurnCommit& commit = *acks[i].commit;
    orchestrator_wake += static_cast<int>(commit.orchestrator_items.size()) + (a.more_messages ? 1 : 0);
    // Leased rows are run by the acknowledging runtime: no other worker needs waking for them.
    const size_t leased = acks[i].leases != nullptr ? acks[i].leases->size() : 0;
    worker_wake += static_cast<int>(commit.worker_items.size() - leased);
    // Client waits look for terminal states, custom status and KV changes only.
    if (commit.status != ExecutionStatus::kRunning || commit.custom_status_changed ||
        !commit.kv_mutations.empty() || commit.new_execution) {
      status_signal().Notify(a.instance);
    }
  }
  if (more_work) ++orchestrator_wake;
  if (orchestrator_wake > 0) orchestrator_signal().Notify(orchestrator_wake);
  if (worker_wake > 0) worker_signal().Notify(worker_wake);
  return out;
}

Result<bool> SqliteProvider::AbandonInstanceLock(const char* op, const std::string& lock_token,
                                                 std::optional<int64_t> visible_at,
                                                 bool ignore_attempt) {
  return Batched(*group_, op, [&]() -> Result<bool> {
    std::string instance;
    const ParsedLockToken token = ParseLockToken(lock_token);
    {
      ScopedStatement s(*abandon_unlock_);
      BindAll(s.get(), token.stored, token.instance);
      if (!s->executeStep()) return false;
      instance = s->getColumn(0).getString();
    }
    ScopedStatement s(*abandon_messages_);
    BindAll(s.get(), token.stored, visible_at, ignore_attempt ? 1 : 0, instance);
    s->exec();
    return true;
  });
}

Result<bool> SqliteProvider::RenewInstanceLock(const char* op, const std::string& lock_token,
                                               int64_t until, int64_t now) {
  return Batched(*group_, op, [&]() -> Result<bool> {
    ScopedStatement s(*renew_instance_lock_);
    const ParsedLockToken token = ParseLockToken(lock_token);
    BindAll(s.get(), token.stored, until, now, token.instance);
    return s->exec() > 0;
  });
}

Result<std::optional<int64_t>> SqliteProvider::NextVisibleAt(const char* op, bool worker_queue,
                                                             int64_t now) {
  using Out = std::optional<int64_t>;
  return Guarded(op, [&]() -> Result<Out> {
    std::lock_guard<std::mutex> lock(mu_);
    ScopedStatement s(worker_queue ? *next_worker_visible_ : *next_orchestrator_visible_);
    s->bind(1, now);
    if (!s->executeStep()) return Out();
    return Out(s->getColumn(0).getInt64());
  });
}

}  // namespace duroxide::providers::sqlite
