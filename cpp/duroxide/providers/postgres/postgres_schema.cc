// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Schema of the PostgreSQL provider: the tables of the SQLite provider (sqlite_schema.cc),
// one set per PostgreSQL schema. All times are epoch milliseconds (BIGINT) from the calling
// process's clock (NowMs()), never from the database clock, exactly as in SQLite.
//
//   _duroxide_migrations one row per applied migration: version (PK), description, applied_at.
//   instances           instance_id (PK), orchestration_name, orchestration_version,
//                       current_execution_id, parent_instance_id, custom_status
//                       (+ custom_status_version), created_at, updated_at, and seq (BIGSERIAL:
//                       insertion order, the tie-breaker of listings, like SQLite's rowid).
//   executions          (instance_id, execution_id) PK, status, output, error, started_at,
//                       completed_at.
//   history             (instance_id, execution_id, event_id) PK, event_type, event_data
//                       (EncodeEvent JSON, stored as TEXT: never interpreted), created_at.
//   orchestrator_queue  id (BIGSERIAL: FIFO order), instance_id, kind, work_item, visible_at,
//                       lock_token (batch tag), attempt_count, created_at.
//   instance_locks      orchestrator peek-locks: instance_id (PK), lock_token (UNIQUE),
//                       locked_until, locked_at.
//   worker_queue        ActivityExecute rows: id, work_item, visible_at, lock_token,
//                       locked_until, attempt_count, created_at, instance_id, execution_id,
//                       activity_id, session_id, tag.
//   sessions            session_id (PK), worker_id, locked_until, last_activity_at.
//   workers             the worker registry (version 4), as in SQLite (provider_fleet.h).
//   kv_store / kv_delta the KV baseline and the current execution's delta (value NULL =
//                       tombstone), as in SQLite.
//   schedules           durable schedules (version 8): the DDL SQLite runs (schedule_store.h).
//
// Migrations are numbered and never edited once released; add an entry to kMigrations to
// change the schema. They run with search_path set to the target schema, so their SQL never
// names it.
#include "duroxide/providers/postgres/postgres_schema.h"

#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>

#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "duroxide/common/clock.h"
#include "duroxide/providers/postgres/postgres_provider.h"
#include "duroxide/providers/queue_order.h"
#include "duroxide/providers/schedule_store.h"
#include "duroxide/providers/store_common.h"
#include "duroxide/providers/store_schema.h"

namespace duroxide::providers::postgres {

bool IsValidSchemaName(const std::string& schema) {
  if (schema.empty() || schema.size() > 63) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(schema[0])) return false;
  for (char c : schema) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

namespace internal {
namespace {

using store::Migration;

// The hot paths as server-side functions: one round trip per fetch, ack and start instead of
// one per statement. They take every time from the caller (p_now) and rely on the calling
// session's search_path (always the provider's schema) for table names.
// Migration 2 around dx_ack_orchestration (postgres_ack_sql.cc), which it created.
constexpr const char* kMigration2Head = R"sql(
-- Queue and lock tables churn (every row is deleted soon after it is inserted): vacuum them
-- after a fixed number of dead rows rather than a fraction of a (tiny) live table.
ALTER TABLE orchestrator_queue SET (autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE worker_queue SET (autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE instance_locks SET (autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);

CREATE FUNCTION dx_fetch_orchestration(p_token TEXT, p_now BIGINT, p_until BIGINT,
                                       p_space INT)
RETURNS TABLE(o_instance TEXT, o_messages JSON, o_has_record BOOLEAN, o_name TEXT,
              o_version TEXT, o_execution_id BIGINT, o_status TEXT, o_output TEXT,
              o_error TEXT, o_custom_status TEXT, o_custom_status_version BIGINT,
              o_parent TEXT, o_created_at BIGINT, o_updated_at BIGINT, o_last_event_id BIGINT,
              o_kv JSON)
LANGUAGE plpgsql AS $$
DECLARE
  v_instance TEXT;
  v_candidate TEXT;
  v_seen BOOLEAN;
  v_attempt INT := 0;
BEGIN
  LOOP
    v_attempt := v_attempt + 1;
    IF v_attempt > 8 THEN
      RETURN;
    END IF;
    -- The oldest visible message of an instance without a live lock whose advisory lock is
    -- free: concurrent fetchers skip an instance being locked instead of queueing behind it.
    v_instance := NULL;
    v_seen := FALSE;
    FOR v_candidate IN
      SELECT q.instance_id FROM orchestrator_queue q
      WHERE q.visible_at <= p_now AND NOT EXISTS (SELECT 1 FROM instance_locks l
        WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)
      ORDER BY q.id LIMIT 32
    LOOP
      v_seen := TRUE;
      IF pg_try_advisory_xact_lock(p_space, hashtext(v_candidate)) THEN
        v_instance := v_candidate;
        EXIT;
      END IF;
    END LOOP;
    IF v_instance IS NULL THEN
      IF NOT v_seen THEN
        RETURN;  -- really nothing
      END IF;
      PERFORM pg_sleep(0.001 * v_attempt);  -- every candidate is being locked right now
      CONTINUE;
    END IF;
)sql";
// The end of dx_fetch_orchestration, after its shared part (FetchLockedInstanceSql).
constexpr const char* kMigration2FetchEnd = R"sql(    RETURN;
  END LOOP;
END;
$$;

)sql";
constexpr const char* kMigration2Tail = R"sql(
CREATE FUNCTION dx_start_orchestration(p_instance TEXT, p_item TEXT, p_now BIGINT,
                                       p_space INT, p_channel TEXT, p_payload TEXT)
RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
BEGIN
  -- Serialises concurrent starts of one instance; the checks below run after the lock, with
  -- a fresh snapshot, so they see a start queued by another client.
  PERFORM pg_advisory_xact_lock(p_space, hashtext(p_instance));
  IF EXISTS (SELECT 1 FROM instances WHERE instance_id = p_instance)
     OR EXISTS (SELECT 1 FROM orchestrator_queue
                WHERE instance_id = p_instance AND kind = 'StartOrchestration') THEN
    RETURN FALSE;
  END IF;
  INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count,
    created_at)
  VALUES (p_instance, 'StartOrchestration', p_item, p_now, 0, p_now);
  PERFORM pg_notify(p_channel, p_payload);
  RETURN TRUE;
END;
$$;
)sql";

const char* Migration2Sql() {
  static const std::string sql =
      kMigration2Head +
      FetchLockedInstanceSql({"v_instance", "p_token", "v_instance",
                              "    IF NOT FOUND THEN\n      CONTINUE;\n    END IF;\n"}) +
      kMigration2FetchEnd + AckOrchestrationSql(AckRelease::kV2) + kMigration2Tail;
  return sql.c_str();
}

// Version 1 (the tables), 3 (messaging, docs/messaging.md), 4 (the worker registry,
// providers/provider_fleet.h) and 5 (capability routing and the task cache,
// docs/task-graphs.md) are the DDL both providers share (store_schema.h), in PostgreSQL's
// types. A topic's seq is taken by an upsert on its topics row, whose row lock is held until
// the publishing transaction commits: seqs become visible in order (the ordering pitfall of
// concurrent publishers). The workers' JSON documents are TEXT (the provider never interprets
// them; jsonb functions cast where needed).
//
// Version 5 adds to the shared DDL a trigger that fills the requirement columns from the work
// item's "routing" object (history/codec.cc), so the turn commit function
// dx_ack_orchestration stays as it is; the trigger only fires for rows that have one.
constexpr const char* kMigration5Trigger = R"sql(
CREATE FUNCTION dx_worker_routing() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r JSONB := (NEW.work_item::jsonb)->'ActivityExecute'->'routing';
BEGIN
  IF r IS NULL THEN
    RETURN NEW;
  END IF;
  IF COALESCE(r->>'schema_hash', '') <> '' THEN
    NEW.schema_hash := r->>'schema_hash';
    IF (r->>'deadline_ms')::BIGINT > 0 THEN
      NEW.requires_deadline := (r->>'deadline_ms')::BIGINT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM schemas WHERE hash = r->>'schema_hash') THEN
      INSERT INTO schemas(hash, json, created_at)
      VALUES (r->>'schema_hash', r->>'schema', NEW.created_at) ON CONFLICT DO NOTHING;
    END IF;
  END IF;
  IF jsonb_array_length(COALESCE(r->'avoid', '[]'::jsonb)) > 0 THEN
    NEW.avoid_workers := '|' || (SELECT string_agg(x, '|') FROM jsonb_array_elements_text(r->'avoid') x) || '|';
    NEW.avoid_until := (r->>'avoid_until_ms')::BIGINT;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER dx_worker_routing BEFORE INSERT ON worker_queue
  FOR EACH ROW WHEN (strpos(NEW.work_item, '"routing"') > 0) EXECUTE FUNCTION dx_worker_routing();
)sql";

// Version 10: the unleased-row indexes of providers/queue_order.h, and idx_worker_lock (acks,
// renewals and abandons look a lease up by its token) made partial on leased rows, so that
// the only index that can answer a claim's `lock_token IS NULL` is idx_worker_free, which also
// gives the claim order: the planner cannot fall back to collecting every free row and
// sorting it (it did when the queue's statistics were older than its backlog, about 2 ms per
// claim with a thousand rows queued).
constexpr const char* kMigration10 = DUROXIDE_WORKER_FREE_INDEXES_SQL R"sql(
DROP INDEX idx_worker_lock;
CREATE INDEX idx_worker_lock ON worker_queue(lock_token) WHERE lock_token IS NOT NULL;
)sql";

const std::vector<Migration>& Migrations() {
  const store::DdlDialect& d = store::kPostgresDdl;
  static const std::string m1 = store::InitialTablesSql(d), m3 = store::MessagingTablesSql(d),
                           m4 = store::WorkersTableSql(d),
                           m5 = store::RoutingTablesSql(d) + kMigration5Trigger;
  static const std::vector<Migration> kMigrations = {
      {1, "initial schema", m1.c_str()},
      {2, "server-side functions for fetch, ack and start; queue vacuum settings",
       Migration2Sql()},
      {3, "messaging: dead letters, topics, subscriptions, client replies", m3.c_str()},
      {4, "worker registry", m4.c_str()},
      {5, "capability routing and task cache", m5.c_str()},
      {7, "leased worker rows in the turn commit; batch orchestration fetch", Migration7Sql()},
      {8, "schedules", SchedulesTableSql()},
      {9, "priorities: queue priority columns, claim-rank indexes and fetch order",
       Migration9Sql()},
      {10, "worker claims walk unleased rows only (providers/queue_order.h)",
       kMigration10},
      {11, "named limits: limits, limit buckets, worker limit columns", Migration11Sql()},
      {12, "orchestration fetch walks the claim rank and stops when it has its batch",
       Migration12Sql()},
      {13, "orchestration limits: start limit columns, instance slots, fetch admission",
       Migration13Sql()},
  };
  return kMigrations;
}

// The bookkeeping of the shared runner on `schema`._duroxide_migrations: each migration in its
// own transaction, with search_path set to the schema.
class PgMigrationStore : public store::MigrationStore {
 public:
  PgMigrationStore(pqxx::connection& conn, std::string quoted_schema)
      : conn_(conn), q_(std::move(quoted_schema)) {}
  std::set<int64_t> AppliedVersions() override {
    pqxx::nontransaction tx(conn_);
    std::set<int64_t> out;
    for (const pqxx::row& row : tx.exec("SELECT version FROM " + q_ + "._duroxide_migrations")) {
      out.insert(row[0].as<int64_t>());
    }
    return out;
  }
  void Apply(const Migration& m, int64_t now_ms) override {
    pqxx::work tx(conn_);
    tx.exec("SET LOCAL search_path TO " + q_);
    tx.exec(m.sql);
    tx.exec_params("INSERT INTO " + q_ +
                       "._duroxide_migrations(version, description, applied_at) "
                       "VALUES ($1, $2, $3)",
                   m.version, std::string(m.description), now_ms);
    tx.commit();
  }

 private:
  pqxx::connection& conn_;
  const std::string q_;
};

// Releases the session-level advisory lock however ApplyMigrations exits.
class SessionLock {
 public:
  SessionLock(pqxx::connection& conn, int64_t key) : conn_(conn), key_(key) {
    pqxx::nontransaction tx(conn_);
    tx.exec_params("SELECT pg_advisory_lock($1)", key_);
  }
  ~SessionLock() {
    try {
      pqxx::nontransaction tx(conn_);
      tx.exec_params("SELECT pg_advisory_unlock($1)", key_);
    } catch (...) {
      // The connection is gone, and with it the session lock.
    }
  }
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;

 private:
  pqxx::connection& conn_;
  const int64_t key_;
};

}  // namespace

int64_t LatestSchemaVersion() { return Migrations().back().version; }

std::string SqlFrom(const char* migration, const std::string& source, const std::string& head) {
  const size_t at = source.find(head);
  if (at == std::string::npos) {
    throw std::logic_error(std::string(migration) + ": not found in its source: " + head);
  }
  return source.substr(at);
}

void ReplaceOnce(const char* migration, std::string* text, const std::string& from,
                 const std::string& to) {
  const size_t at = text->find(from);
  if (at == std::string::npos || text->find(from, at + 1) != std::string::npos) {
    throw std::logic_error(std::string(migration) + ": anchor not found once: " + from);
  }
  text->replace(at, from.size(), to);
}

uint64_t Fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string ChannelName(const std::string& schema) {
  const std::string plain = "duroxide_" + schema;
  if (plain.size() <= 63) return plain;
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx",
                static_cast<unsigned long long>(Fnv1a64(schema)));  // NOLINT(runtime/int)
  return "duroxide_" + schema.substr(0, 36) + "_" + hash;
}

int64_t MigrationLockKey(const std::string& schema) {
  return static_cast<int64_t>(Fnv1a64("duroxide.migrate." + schema));
}

int64_t DeleteLockKey(const std::string& schema) {
  return static_cast<int64_t>(Fnv1a64("duroxide.delete." + schema));
}

int32_t InstanceLockSpace(const std::string& schema) {
  return static_cast<int32_t>(static_cast<uint32_t>(Fnv1a64("duroxide.instance." + schema)));
}

int64_t ApplyMigrations(pqxx::connection& conn, const std::string& schema) {
  const std::string q = conn.quote_name(schema);
  SessionLock lock(conn, MigrationLockKey(schema));
  {
    pqxx::work tx(conn);
    // Only create what is missing: a role without CREATE on the database can still use a
    // schema made for it by an administrator.
    if (tx.exec_params("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema).empty()) {
      tx.exec("CREATE SCHEMA " + q);
    }
    // Only when missing too: a read-only session (default_transaction_read_only, a standby)
    // refuses even CREATE TABLE IF NOT EXISTS, and must still open an up-to-date schema.
    if (tx.exec_params("SELECT to_regclass($1) IS NULL",
                       q + "._duroxide_migrations")[0][0].as<bool>()) {
      tx.exec("CREATE TABLE IF NOT EXISTS " + q +
              "._duroxide_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
              "applied_at BIGINT NOT NULL)");
    }
    tx.commit();
  }
  PgMigrationStore store(conn, q);
  return store::RunMigrations(
      Migrations(), LatestSchemaVersion(), store, [&](int64_t recorded, int64_t newest) {
        return "schema '" + schema + "' has version " + std::to_string(recorded) +
               ", newer than this build supports (" + std::to_string(newest) +
               "): it was written by a newer duroxide; upgrade duroxide to use it "
               "(the schema was not modified)";
      });
}

}  // namespace internal
}  // namespace duroxide::providers::postgres
