// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: connection set-up, orchestrator queue, turn commit (ack), client reads and
// KV. The worker queue and sessions are in postgres_worker_queue.cc, management in
// postgres_management.cc, the schema in postgres_schema.cc.
//
// Concurrency. Connections come from a small pool, so dispatcher threads (and processes) work
// in parallel; what SQLite gets from its single writer, this provider gets from locks. The hot
// paths are server-side functions (migration 2 in postgres_schema.cc), each called as one
// statement in autocommit mode: one round trip, atomic on the server.
//   - Fetch (dx_fetch_orchestration): an instance with visible messages and no live lock row
//     is picked together with pg_try_advisory_xact_lock(space, hashtext(instance)), so
//     concurrent fetchers skip an instance another fetcher is locking instead of queueing
//     behind it (and never deadlock on the lock row's index, as plain INSERT .. ON CONFLICT
//     races can). The lock row is then upserted only if the existing lock expired; losing any
//     race retries with a fresh candidate inside the function.
//   - Ack (dx_ack_orchestration): deleting the lock row (by token, unexpired) is the first
//     write, so a concurrent takeover or a second ack of the same token waits on that row and
//     then finds it gone: exactly one ack wins, and a failed ack changes nothing.
//   - Start (dx_start_orchestration) takes the same per-instance advisory lock before its
//     duplicate check, so two clients cannot both queue a start of one instance.
//   - Worker fetch uses FOR UPDATE SKIP LOCKED (postgres_worker_queue.cc).
// Notifications: every commit that makes work visible also runs pg_notify on the schema's
// channel (delivered at commit); the listener of every other provider object turns it into
// a local ChangeSignal wake-up.
#include "duroxide/providers/postgres/postgres_provider.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>
#include <pqxx/except>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/postgres/pg_group_commit.h"
#include "duroxide/providers/postgres/postgres_internal.h"
#include "duroxide/providers/postgres/postgres_schema.h"

namespace duroxide::providers::postgres {

using history::WorkItem;
using history::WorkItemKind;
using internal::NullableText;
using internal::OptText;
using internal::StatementDef;

namespace {

constexpr int kFetchAttempts = 8;

// The shared instance-record query (store_common.h, column layout of InstanceRecordFrom).
constexpr const char* kRecordColumns = store::kInstanceRecordSelect;

// Decodes the record columns of `row` starting at column `at`; *last_event_id receives the id
// of the current execution's last stored event (0 = none).
InstanceRecord RecordFromRow(const std::string& instance, const pqxx::row& all, int at,
                             int64_t* last_event_id) {
  return store::InstanceRecordFrom(instance, internal::PgRow(all, at), last_event_id);
}

std::string Json(const nlohmann::json& j) { return j.dump(); }

}  // namespace

// The JSON arguments of dx_ack_orchestration.
struct internal::EncodedTurn {
  std::string events, workers, cancelled, kv, items;
  bool unleased_workers = false;  // some worker row is inserted unleased (fetchable)
};

namespace {
using internal::EncodedTurn;

// Validates `commit` (positive event ids, items routed to the right queue) and encodes its
// batches; kInvalidArgument otherwise (also for text that is not valid UTF-8).
// lease_tokens[i] (when not empty) is the lock token worker_items[i] is inserted with, leased
// until commit.worker_lease_until_ms.
Status EncodeTurn(const char* op, const TurnCommit& commit, int64_t now,
                  const std::vector<std::string>& lease_tokens, EncodedTurn* out) {
  Status valid = store::ValidateTurnCommit(op, commit);
  if (!valid.ok()) return valid;
  nlohmann::json events = nlohmann::json::array();
  for (const history::Event& e : commit.new_events) {
    events.push_back({{"event_id", e.event_id},
                      {"event_type", history::EventKindName(e.kind)},
                      {"event_data", history::EncodeEvent(e)}});
  }
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkItem& w : commit.worker_items) {
    const size_t i = workers.size();
    const bool leased = i < lease_tokens.size() && !lease_tokens[i].empty();
    if (!leased) out->unleased_workers = true;
    workers.push_back({{"ord", i},
                       {"work_item", history::EncodeWorkItem(w)},
                       {"instance_id", w.instance},
                       {"execution_id", w.execution_id},
                       {"activity_id", w.id},
                       {"session_id", w.session_id ? nlohmann::json(*w.session_id) : nullptr},
                       {"tag", w.tag ? nlohmann::json(*w.tag) : nullptr},
                       {"lock_token", leased ? nlohmann::json(lease_tokens[i]) : nullptr},
                       {"locked_until", leased ? nlohmann::json(commit.worker_lease_until_ms)
                                               : nlohmann::json(nullptr)}});
  }
  nlohmann::json items = nlohmann::json::array();
  for (const WorkItem& o : commit.orchestrator_items) {
    // TimerFired becomes visible at its fire time, everything else at once.
    items.push_back({{"ord", items.size()},
                     {"instance_id", o.instance},
                     {"kind", history::WorkItemKindName(o.kind)},
                     {"work_item", history::EncodeWorkItem(o)},
                     {"visible_at", o.kind == WorkItemKind::kTimerFired ? o.fire_at_ms : now}});
  }
  nlohmann::json cancelled = nlohmann::json::array();
  for (const ActivityRef& ref : commit.cancelled_activities) {
    cancelled.push_back({{"instance_id", ref.instance},
                         {"execution_id", ref.execution_id},
                         {"activity_id", ref.activity_id}});
  }
  nlohmann::json kv = nlohmann::json::array();
  for (const KvMutation& m : commit.kv_mutations) {
    const char* kind = m.kind == KvMutation::Kind::kSet     ? "set"
                       : m.kind == KvMutation::Kind::kClear ? "clear"
                                                            : "clear_all";
    kv.push_back({{"op", kind}, {"key", m.key}, {"value", m.value}, {"t", m.last_updated_at_ms}});
  }
  try {
    out->events = Json(events);
    out->workers = Json(workers);
    out->items = Json(items);
    out->cancelled = Json(cancelled);
    out->kv = Json(kv);
  } catch (const std::exception& e) {  // e.g. invalid UTF-8 in a payload
    return Status::InvalidArgument(op, e.what());
  }
  return Status::Ok();
}

}  // namespace

namespace internal {

namespace {
const char* NextVisibleSql() {
  static const std::string sql =
      "SELECT MIN(q.visible_at) FROM orchestrator_queue q WHERE NOT EXISTS (SELECT 1 "
      "  FROM instance_locks l WHERE l.instance_id = q.instance_id AND l.locked_until > $1) "
      "  AND " + OrchestrationLimitPredicate("q", "$1");
  return sql.c_str();
}
}  // namespace

std::vector<StatementDef> OrchestratorStatements() {
  return {
      // ---- fetch, ack, start: server-side functions (migration 2, postgres_schema.cc)
      {"dx_fetch_batch", "SELECT * FROM dx_fetch_orchestrations($1::text[], $2, $3, $4, $5)"},
      {"dx_ack",
       "SELECT * FROM dx_ack_orchestration($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
       "  $13, $14, $15, $16, $17, $18, $19, $20, $21)"},
      {"dx_start", "SELECT dx_start_orchestration($1, $2, $3, $4, $5, $6)"},
      {"dx_read_record", kRecordColumns},
      // $2 = 0 selects the current execution (1 when the instance has no row yet).
      {"dx_read_history",
       "SELECT event_data FROM history WHERE instance_id = $1 AND execution_id = "
       "  (CASE WHEN $2::bigint > 0 THEN $2::bigint ELSE COALESCE((SELECT current_execution_id "
       "   FROM instances WHERE instance_id = $1), 1) END) "
       "ORDER BY event_id"},
      // The history of a fetched batch, up to the last event id the fetch reported.
      {"dx_read_history_upto",
       "SELECT event_data FROM history WHERE instance_id = $1 AND execution_id = $2 "
       "  AND event_id <= $3 ORDER BY event_id"},
      // ---- abandon / renew / idle
      {"dx_abandon_unlock",
       "DELETE FROM instance_locks WHERE lock_token = $1 RETURNING instance_id"},
      {"dx_abandon_messages",
       "UPDATE orchestrator_queue SET lock_token = NULL, "
       "  visible_at = COALESCE($2::bigint, visible_at), "
       "  attempt_count = CASE WHEN $3::boolean THEN GREATEST(attempt_count - 1, 0) "
       "                  ELSE attempt_count END "
       "WHERE lock_token = $1"},
      {"dx_renew_instance_lock",
       "UPDATE instance_locks SET locked_until = $2 WHERE lock_token = $1 AND locked_until > $3"},
      // Instances whose limited start waits for a slot are left out (limit_store.h).
      {"dx_next_orchestrator_visible", NextVisibleSql()},
      // ---- client
      {"dx_enqueue_orchestrator",
       "WITH ins AS (INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, "
       "  attempt_count, created_at) VALUES ($1, $2, $3, $4, 0, $5) RETURNING 1) "
       "SELECT pg_notify($6, $7) FROM ins"},
      {"dx_notify", "SELECT pg_notify($1, $2)"},
      {"dx_has_pending_start",
       "SELECT EXISTS (SELECT 1 FROM orchestrator_queue "
       "  WHERE instance_id = $1 AND kind IN ('StartOrchestration', 'ContinueAsNew'))"},
      {"dx_get_kv_value",
       "SELECT value, 1 AS pri FROM kv_delta WHERE instance_id = $1 AND key = $2 "
       "UNION ALL SELECT value, 0 FROM kv_store WHERE instance_id = $1 AND key = $2 "
       "ORDER BY pri DESC LIMIT 1"},
      {"dx_get_kv_all",
       "SELECT key, value, last_updated_at_ms, 0 AS src FROM kv_store WHERE instance_id = $1 "
       "UNION ALL SELECT key, value, last_updated_at_ms, 1 FROM kv_delta WHERE instance_id = $1 "
       "ORDER BY src"},
  };
}

}  // namespace internal

// ---- construction ------------------------------------------------------------------------

PostgresProvider::PostgresProvider(std::string url, std::string schema,
                                   const PostgresOptions& options)
    : url_(std::move(url)),
      schema_(std::move(schema)),
      channel_(internal::ChannelName(schema_)),
      origin_id_([] {
        char buf[17];
        std::snprintf(buf, sizeof(buf), "%016llx",
                      static_cast<unsigned long long>(  // NOLINT(runtime/int)
                          std::random_device{}() * 4294967296ULL + std::random_device{}()));
        return std::string(buf);
      }()),
      lock_space_(internal::InstanceLockSpace(schema_)),
      delete_lock_key_(internal::DeleteLockKey(schema_)),
      rng_(std::random_device{}()) {
  std::vector<StatementDef> statements = internal::OrchestratorStatements();
  for (StatementDef& s : internal::WorkerStatements()) statements.push_back(std::move(s));
  pool_ = std::make_unique<internal::PgPool>(url_, schema_, options.pool_size,
                                             std::move(statements));
  group_ = std::make_unique<internal::PgGroupCommit>(pool_.get());
}

PostgresProvider::~PostgresProvider() {
  listener_.reset();  // joins the listener thread before anything it calls back goes away
  group_.reset();
  pool_.reset();
}

Result<std::unique_ptr<PostgresProvider>> PostgresProvider::Connect(const std::string& url) {
  return ConnectWithSchema(url, "public", PostgresOptions{});
}

Result<std::unique_ptr<PostgresProvider>> PostgresProvider::ConnectWithSchema(
    const std::string& url, const std::string& schema) {
  return ConnectWithSchema(url, schema, PostgresOptions{});
}

Result<std::unique_ptr<PostgresProvider>> PostgresProvider::ConnectWithSchema(
    const std::string& url, const std::string& schema, const PostgresOptions& options) {
  const char* op = "PostgresProvider::Connect";
  if (!IsValidSchemaName(schema)) {
    return Status::InvalidArgument(
        op, "invalid schema name '" + schema + "' (expected [A-Za-z_][A-Za-z0-9_]{0,62})");
  }
  std::unique_ptr<PostgresProvider> provider(new PostgresProvider(url, schema, options));
  try {
    std::vector<StatementDef> statements = internal::OrchestratorStatements();
    for (StatementDef& s : internal::WorkerStatements()) statements.push_back(std::move(s));
    // The first connection applies the migrations (search_path is irrelevant to them: they
    // name the schema) and then joins the pool.
    std::unique_ptr<pqxx::connection> conn = internal::OpenConnection(url, schema, statements);
    internal::ApplyMigrations(*conn, schema);
    provider->pool_->Seed(std::move(conn));
  } catch (const std::runtime_error& e) {
    Status st = StatusFromPgException(e, op);
    if (dynamic_cast<const pqxx::pqxx_exception*>(&e) == nullptr) {
      st = Status::FailedPrecondition(op, e.what());  // schema from a newer build
    } else if (st.code() == StatusCode::kInternal) {
      // A connection that could not be made at all (bad host, refused, bad URL syntax).
      st = Status::Unavailable(op, st.message());
    }
    return st;
  } catch (const std::exception& e) {
    return StatusFromPgException(e, op);
  }
  if (options.listen) {
    PostgresProvider* self = provider.get();
    provider->listener_ = std::make_unique<internal::PgListener>(
        url, provider->channel_, [self](const std::string& payload) { self->OnNotification(payload); },
        [self] {
          // Notifications sent while the listener was disconnected are lost: look again.
          self->orchestrator_signal().Notify();
          self->worker_signal().Notify();
          self->status_signal().Notify();
          self->schedules()->changes().Notify();
          self->topic_signal().Notify();
        });
  }
  return Result<std::unique_ptr<PostgresProvider>>(std::move(provider));
}

std::string PostgresProvider::NewToken(const char* prefix) {
  std::lock_guard<std::mutex> lock(rng_mu_);
  return store::NewLockToken(prefix, rng_);
}

std::string PostgresProvider::NotifyPayload(const std::string& kinds) const {
  return origin_id_ + ":" + kinds;
}

void PostgresProvider::OnNotification(const std::string& payload) {
  const auto colon = payload.find(':');
  if (colon != std::string::npos && payload.compare(0, colon, origin_id_) == 0) return;
  const std::string kinds = colon == std::string::npos ? "ows" : payload.substr(colon + 1);
  // One orchestration dispatcher per notification, not all of them: a notification stands for
  // at least one fetchable instance, and a dispatcher whose fetch comes back full wakes the
  // next (FetchOrchestrationItems), so a burst is still taken by as many dispatchers as it
  // needs. Waking every dispatcher of every process per commit cost an empty fetch per extra
  // dispatcher (docs/performance.md, round 3, "PostgreSQL scaling").
  if (kinds.find('o') != std::string::npos) orchestrator_signal().Notify(1);
  if (kinds.find('w') != std::string::npos) worker_signal().Notify();
  if (kinds.find('s') != std::string::npos) status_signal().Notify();
  if (kinds.find('c') != std::string::npos) schedules()->changes().Notify();  // schedule definitions
  if (kinds.find('t') != std::string::npos) topic_signal().Notify();  // a client's publish
}

// ---- orchestrator queue ------------------------------------------------------------------
//
// Every fetch and ack runs as a task of the group commit (pg_group_commit.h): the turns and
// fetches of all dispatcher threads that are ready at the same moment share one transaction
// and one commit. A fetch that rides alone (no ack in its group) commits without waiting for
// the WAL flush (lock-only, see there).

// A fetched batch as read inside the transaction; decoded after the commit.
struct internal::RawFetchedBatch {
  OrchestrationItem item;
  std::vector<std::tuple<int64_t, std::string, int64_t>> rows;  // id, work_item, attempts
  std::vector<std::string> events;
};

Status PostgresProvider::FetchOrchestrationTx(pqxx::transaction_base& tx, size_t max_items,
                                              int64_t lock_timeout_ms, const FetchHint* hint,
                                              std::vector<internal::RawFetchedBatch>* out) {
  out->clear();  // the task may run twice (group commit)
  std::vector<std::string> tokens;
  for (size_t i = 0; i < std::max<size_t>(max_items, 1); ++i) tokens.push_back(NewToken("o-"));
  const int64_t now = NowMs();
  // One call picks, locks and tags up to max_items batches and returns them with their
  // instance records and KV snapshots. p_lock_only = false: the group decides how to commit.
  pqxx::result r = tx.exec_prepared("dx_fetch_batch", internal::PgTextArray(tokens), now,
                                    now + lock_timeout_ms, lock_space_, false);
  for (const pqxx::row& row : r) {
    out->emplace_back();
    internal::RawFetchedBatch& b = out->back();
    OrchestrationItem& item = b.item;
    item.lock_token = row[0].as<std::string>();
    item.instance = row[1].as<std::string>();
    for (const nlohmann::json& m : nlohmann::json::parse(row[2].as<std::string>())) {
      b.rows.emplace_back(m.at(0).get<int64_t>(), m.at(1).get<std::string>(),
                          m.at(2).get<int64_t>());
    }
    if (row[3].as<bool>()) {
      // A record that cannot be interpreted is reported like an undecodable history: the
      // batch must still come back locked so the runtime can fail the instance.
      try {
        item.record = RecordFromRow(item.instance, row, 4, &item.last_event_id);
      } catch (const internal::DataLossError& e) {
        item.history_error = Status::DataLoss("FetchOrchestrationItem", e.what());
        item.last_event_id = row[15].is_null() ? 0 : row[15].as<int64_t>();
      }
    }
    if (!row[16].is_null()) {
      for (const nlohmann::json& kv : nlohmann::json::parse(row[16].as<std::string>())) {
        item.kv_snapshot[kv.at(0).get<std::string>()] =
            KvEntry{kv.at(1).get<std::string>(), kv.at(2).get<int64_t>()};
      }
    }
  }
  // Without an instance row no turn was ever committed: there is no history to read. With
  // one, only the lock holder appends to it, and reading up to last_event_id keeps it
  // consistent with the record. A history the caller holds (hint) is not read at all.
  for (internal::RawFetchedBatch& b : *out) {
    OrchestrationItem& item = b.item;
    const int64_t exec_id = item.record ? item.record->current_execution_id : int64_t{1};
    std::optional<CachedHistory> cached;
    if (hint && hint->cached && item.record) cached = hint->cached(item.instance);
    if (cached && cached->execution_id == exec_id &&
        cached->last_event_id == item.last_event_id &&
        cached->instance_created_at_ms == item.record->created_at_ms && item.last_event_id > 0) {
      item.history_loaded = false;
    } else if (item.last_event_id > 0) {
      for (const pqxx::row& h :
           tx.exec_prepared("dx_read_history_upto", item.instance, exec_id, item.last_event_id)) {
        b.events.push_back(h[0].as<std::string>());
      }
    }
  }
  return Status::Ok();
}

namespace {

// JSON decoding of fetched batches happens after the commit, off the connection.
std::vector<OrchestrationItem> DecodeFetched(std::vector<internal::RawFetchedBatch>* raw) {
  std::vector<OrchestrationItem> items;
  items.reserve(raw->size());
  for (internal::RawFetchedBatch& b : *raw) {
    DecodeFetchedBatch("FetchOrchestrationItem", std::move(b.rows), b.events, &b.item);
    items.push_back(std::move(b.item));
  }
  return items;
}

}  // namespace

Result<std::vector<OrchestrationItem>> PostgresProvider::FetchOrchestrationItems(
    size_t max_items, int64_t lock_timeout_ms, const FetchHint* hint) {
  std::vector<internal::RawFetchedBatch> raw;
  const internal::PgGroupCommit::Fn fetch = [&](pqxx::transaction_base& tx) {
    return FetchOrchestrationTx(tx, max_items, lock_timeout_ms, hint, &raw);
  };
  Status st = group_->Run("FetchOrchestrationItems", fetch, /*durable=*/false);
  if (!st.ok()) return st;
  NotifyIfFull(raw.size(), max_items);
  return DecodeFetched(&raw);
}

Result<std::optional<OrchestrationItem>> PostgresProvider::FetchOrchestrationItem(
    int64_t lock_timeout_ms, const FetchHint* hint) {
  using Out = std::optional<OrchestrationItem>;
  Result<std::vector<OrchestrationItem>> items = FetchOrchestrationItems(1, lock_timeout_ms, hint);
  if (!items.ok()) return items.status();
  if (items->empty()) return Out();
  return Out(std::move(items->front()));
}

// Calls dx_ack for one turn on `tx`. Returns FailedPrecondition for an unknown or expired
// lock (having written nothing); *more_messages tells whether messages arrived for the
// instance during the lock.
Status PostgresProvider::AckTurn(pqxx::transaction_base& tx, const std::string& lock_token,
                                 const TurnCommit& commit, const EncodedTurn& turn, int64_t now,
                                 bool* more_messages) {
  const char* op = "AckOrchestrationItem";
  auto nullable = [](bool present, const std::string& json) -> const char* {
    return present ? json.c_str() : nullptr;
  };
  std::string kinds = "s";
  if (!commit.orchestrator_items.empty()) kinds += 'o';
  if (turn.unleased_workers) kinds += 'w';  // leased rows are nobody else's to fetch
  const std::string payload = NotifyPayload(kinds);
  const std::string delete_lock_key = std::to_string(delete_lock_key_);
  const std::optional<std::string> status =
      commit.status == ExecutionStatus::kRunning
          ? std::nullopt
          : std::optional<std::string>(ExecutionStatusName(commit.status));
  pqxx::result r = tx.exec_prepared(
      "dx_ack", lock_token, now,
      commit.new_execution && commit.parent_instance_id ? delete_lock_key.c_str() : nullptr,
      commit.new_execution, commit.execution_id, commit.orchestration_name,
      commit.orchestration_version, NullableText(commit.parent_instance_id),
      commit.instance_created_at_ms > 0 ? commit.instance_created_at_ms : now,
      nullable(!commit.new_events.empty(), turn.events), NullableText(status),
      NullableText(commit.output), NullableText(commit.error), commit.custom_status_changed,
      NullableText(commit.custom_status), nullable(!commit.kv_mutations.empty(), turn.kv),
      nullable(!commit.worker_items.empty(), turn.workers),
      nullable(!commit.cancelled_activities.empty(), turn.cancelled),
      nullable(!commit.orchestrator_items.empty(), turn.items), channel_, payload);
  if (r.empty()) {
    return Status::FailedPrecondition(op, "lock token '" + lock_token + "' is unknown or expired");
  }
  *more_messages = r[0][1].as<bool>();
  if (!commit.messaging.empty()) ApplyMessagingTx(tx, r[0][0].as<std::string>(), commit, now);
  return Status::Ok();
}

// A fetch that filled its batch may have left work behind: let one more dispatcher look (the
// orchestrator signal wakes one dispatcher per item, change_signal.h).
void PostgresProvider::NotifyIfFull(size_t fetched, size_t max_items) {
  if (fetched >= std::max<size_t>(max_items, 1)) orchestrator_signal().Notify(1);
}

// Returns the orchestration dispatchers to wake for the turn: one per message it sent and one
// for messages that arrived during its lock.
int PostgresProvider::NotifyAcked(const TurnCommit& commit, const EncodedTurn& turn,
                                  bool more_messages) {
  if (turn.unleased_workers) worker_signal().Notify();
  status_signal().Notify();
  return static_cast<int>(commit.orchestrator_items.size()) + (more_messages ? 1 : 0);
}

Status PostgresProvider::AckOrchestrationItem(const std::string& lock_token,
                                              const TurnCommit& commit) {
  return AckOrchestrationItemsAndFetch({TurnAck{lock_token, &commit}}, nullptr)[0];
}

std::vector<std::string> PostgresProvider::LeaseTokens(const TurnAck& ack) {
  std::vector<std::string> tokens;
  const TurnCommit& c = *ack.commit;
  if (ack.leases == nullptr || c.worker_lease_until_ms <= 0) return tokens;
  tokens.resize(c.worker_items.size());
  for (size_t i = 0; i < c.worker_items.size() && i < c.lease_worker_items.size(); ++i) {
    // A session-bound row is never leased: its fetch must claim the session.
    if (c.lease_worker_items[i] && !c.worker_items[i].session_id) tokens[i] = NewToken("w-");
  }
  return tokens;
}

std::vector<Status> PostgresProvider::AckOrchestrationItemsAndFetch(
    const std::vector<TurnAck>& acks, NextOrchestrationFetch* next) {
  std::vector<Status> none;
  return AckWorkTurnsAndFetch({}, &none, acks, next);
}

bool PostgresProvider::RelaysWorkAcks() const { return true; }

std::vector<Status> PostgresProvider::AckWorkTurnsAndFetch(const std::vector<WorkAck>& work,
                                                           std::vector<Status>* work_acked,
                                                           const std::vector<TurnAck>& acks,
                                                           NextOrchestrationFetch* next) {
  const char* op = "AckOrchestrationItem";
  // The caller's clock at the time of the ack: timestamps and the visibility of new messages.
  const int64_t now = NowMs();
  const size_t n = acks.size();
  std::vector<EncodedTurn> turns(n);
  std::vector<std::vector<std::string>> tokens(n);
  std::vector<Status> out(n);
  std::vector<char> more(n, 0);
  internal::GroupTasks tasks;
  // The relayed completions first (lock-only: see AckWorkTurnsAndFetch in the header), so
  // that the turns' "more messages" check and the fetch both see them.
  std::vector<std::string> work_json;
  std::vector<size_t> work_index;  // task k acknowledges work[work_index[k]]
  AddWorkAckTasks(work, /*durable=*/false, work_acked, &work_json, &work_index, &tasks);
  std::vector<size_t> index;  // task work_index.size() + k acknowledges acks[index[k]]
  // Validate and encode before queueing: both are pure CPU work.
  for (size_t i = 0; i < n; ++i) {
    if (acks[i].leases) acks[i].leases->clear();
    tokens[i] = LeaseTokens(acks[i]);
    out[i] = EncodeTurn(op, *acks[i].commit, now, tokens[i], &turns[i]);
    if (!out[i].ok()) continue;
    tasks.Add(op, [this, &acks, &turns, &more, now, i](pqxx::transaction_base& tx) {
      bool m = false;
      Status st = AckTurn(tx, acks[i].lock_token, *acks[i].commit, turns[i], now, &m);
      more[i] = m ? 1 : 0;
      return st;
    }, true);
    index.push_back(i);
  }
  std::vector<internal::RawFetchedBatch> raw;
  if (next) {
    tasks.Add("FetchOrchestrationItems", [&](pqxx::transaction_base& tx) {
      return FetchOrchestrationTx(tx, next->max_items, next->lock_timeout_ms, next->hint, &raw);
    }, false);
  }
  std::vector<Status> done = group_->RunAll(tasks.ops);
  int orchestrator_wake = 0;
  for (size_t k = 0; k < work_index.size(); ++k) {
    const size_t i = work_index[k];
    (*work_acked)[i] = std::move(done[k]);
    // Without a fetch in this transaction, a dispatcher must come for the completion.
    if (!next && (*work_acked)[i].ok() && work[i].completion) ++orchestrator_wake;
  }
  for (size_t k = 0; k < index.size(); ++k) {
    const size_t i = index[k];
    out[i] = std::move(done[work_index.size() + k]);
    if (!out[i].ok()) continue;
    orchestrator_wake += NotifyAcked(*acks[i].commit, turns[i], more[i] != 0);
    if (acks[i].leases == nullptr) continue;
    const TurnCommit& c = *acks[i].commit;
    for (size_t w = 0; w < tokens[i].size(); ++w) {
      if (!tokens[i][w].empty()) acks[i].leases->push_back({c.worker_items[w], tokens[i][w], 1});
    }
  }
  if (orchestrator_wake > 0) orchestrator_signal().Notify(orchestrator_wake);
  if (next) {
    const Status& fetched = done.back();
    if (fetched.ok()) {
      NotifyIfFull(raw.size(), next->max_items);
      next->result.emplace(DecodeFetched(&raw));
    } else {
      next->result.emplace(fetched);
    }
  }
  return out;
}

Result<bool> PostgresProvider::AbandonInstanceLock(const char* op, const std::string& lock_token,
                                                   std::optional<int64_t> visible_at,
                                                   bool ignore_attempt) {
  return Run(op, [&](pqxx::connection_base& conn) -> Result<bool> {
    pqxx::work tx(conn);
    if (tx.exec_prepared("dx_abandon_unlock", lock_token).empty()) return false;
    const std::optional<std::string> visible =
        visible_at ? std::optional<std::string>(std::to_string(*visible_at)) : std::nullopt;
    tx.exec_prepared("dx_abandon_messages", lock_token, NullableText(visible), ignore_attempt);
    tx.exec_prepared("dx_notify", channel_, NotifyPayload("o"));
    tx.commit();
    return true;
  });
}

Result<bool> PostgresProvider::RenewInstanceLock(const char* op, const std::string& lock_token,
                                                 int64_t until, int64_t now) {
  return Run(op, [&](pqxx::connection_base& conn) -> Result<bool> {
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared("dx_renew_instance_lock", lock_token, until, now).affected_rows() > 0;
  });
}

Result<std::optional<int64_t>> PostgresProvider::NextVisibleAt(const char* op, bool worker_queue,
                                                               int64_t now) {
  using Out = std::optional<int64_t>;
  return Run(op, [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared(
        worker_queue ? "dx_next_worker_visible" : "dx_next_orchestrator_visible", now);
    if (r.empty() || r[0][0].is_null()) return Out();
    return Out(r[0][0].as<int64_t>());
  });
}

// ---- client ------------------------------------------------------------------------------

Status PostgresProvider::WriteStart(const char* op, const WorkItem& start) {
  const std::string json = history::EncodeWorkItem(start);
  return Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::nontransaction tx(conn);  // one function call: atomic on its own
    // The function serialises concurrent starts of one instance with an advisory lock, so
    // its duplicate check sees a start queued by another client.
    if (!tx.exec_prepared("dx_start", start.instance, json, NowMs(), lock_space_, channel_,
                          NotifyPayload("o"))[0][0]
             .as<bool>()) {
      return store::InstanceExists(op, start.instance);
    }
    return Status::Ok();
  });
}

Status PostgresProvider::WriteOrchestratorMessage(const char* op, const WorkItem& item,
                                                  int64_t delay_ms) {
  const std::string json = history::EncodeWorkItem(item);
  return Run(op, [&](pqxx::connection_base& conn) -> Status {
    // One statement in autocommit mode: the insert and its notification commit together.
    pqxx::nontransaction tx(conn);
    const int64_t now = NowMs();
    tx.exec_prepared("dx_enqueue_orchestrator", item.instance,
                     std::string(history::WorkItemKindName(item.kind)), json,
                     now + std::max<int64_t>(delay_ms, 0), now, channel_, NotifyPayload("o"));
    return Status::Ok();
  });
}

Result<std::optional<InstanceRecord>> PostgresProvider::GetInstance(const std::string& instance) {
  using Out = std::optional<InstanceRecord>;
  return Run("GetInstance", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("dx_read_record", instance);
    if (r.empty()) return Out();
    return Out(RecordFromRow(instance, r[0], 0, nullptr));
  });
}

// Also true for a queued ContinueAsNew: an ended instance restarted by the client
// (start_orchestration if_exists="restart_if_ended") is about to run again.
Result<bool> PostgresProvider::HasPendingStart(const std::string& instance) {
  return Run("HasPendingStart", [&](pqxx::connection_base& conn) -> Result<bool> {
    pqxx::nontransaction tx(conn);
    return tx.exec_prepared("dx_has_pending_start", instance)[0][0].as<bool>();
  });
}

Status PostgresProvider::ReadHistoryRows(const char* op, const std::string& instance,
                                         int64_t execution_id, std::vector<std::string>* rows) {
  return Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::nontransaction tx(conn);
    rows->clear();  // a retried call starts again
    for (const pqxx::row& row : tx.exec_prepared("dx_read_history", instance, execution_id)) {
      rows->push_back(row[0].as<std::string>());
    }
    return Status::Ok();
  });
}

Result<std::optional<std::string>> PostgresProvider::GetKvValue(const std::string& instance,
                                                                const std::string& key) {
  using Out = std::optional<std::string>;
  return Run("GetKvValue", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("dx_get_kv_value", instance, key);
    if (r.empty()) return Out();
    return OptText(r[0][0]);  // NULL: tombstoned in the delta
  });
}

Result<KvMap> PostgresProvider::GetKvAll(const std::string& instance) {
  return Run("GetKvAll", [&](pqxx::connection_base& conn) -> Result<KvMap> {
    pqxx::nontransaction tx(conn);
    KvMap out;
    // Baseline rows come first; delta rows then overwrite or (NULL) delete them.
    for (const pqxx::row& row : tx.exec_prepared("dx_get_kv_all", instance)) {
      store::MergeKvRow(&out, row[0].as<std::string>(), OptText(row[1]),
                        row[2].is_null() ? 0 : row[2].as<int64_t>());
    }
    return out;
  });
}

// ---- test hooks ----------------------------------------------------------------------------

Status PostgresProvider::TEST_ExecuteSql(const std::string& sql) {
  return Run("TEST_ExecuteSql", [&](pqxx::connection_base& conn) -> Status {
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.commit();
    return Status::Ok();
  });
}

void PostgresProvider::TEST_BreakConnections() { pool_->TEST_BreakIdle(); }

std::pair<int64_t, int64_t> PostgresProvider::TEST_GroupCommitCounts() const {
  return {group_->groups(), group_->tasks()};
}

int64_t PostgresProvider::TEST_ListenerConnections() const {
  return listener_ ? listener_->connections() : 0;
}

}  // namespace duroxide::providers::postgres
