// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The shared DDL (store_schema.h). The "{name}" fields are filled from a DdlDialect; the
// layout (column alignment, blank lines) is part of what the migrations shipped, so keep it.
#include "duroxide/providers/store_schema.h"

#include <cstring>
#include <string>

namespace duroxide::providers::store {

const DdlDialect kSqliteDdl = {
    "INTEGER",
    "INTEGER PRIMARY KEY AUTOINCREMENT",
    "INTEGER PRIMARY KEY",
    "INTEGER NOT NULL DEFAULT 0",
    " WITHOUT ROWID",
    "",
    "",
};

const DdlDialect kPostgresDdl = {
    "BIGINT",
    "BIGSERIAL PRIMARY KEY",
    "BIGSERIAL PRIMARY KEY",
    "BOOLEAN NOT NULL DEFAULT FALSE",
    "",
    ",\n  seq                   BIGSERIAL NOT NULL",
    "CREATE INDEX idx_instances_created ON instances(created_at, seq);\n",
};

namespace {

constexpr const char* kOrchestratorQueueColumns = R"sql(
  id            {id},
  instance_id   TEXT NOT NULL,
  kind          TEXT NOT NULL,
  work_item     TEXT NOT NULL,
  visible_at    {int} NOT NULL,
  lock_token    TEXT,
  attempt_count {int} NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  created_at    {int} NOT NULL
)sql";

constexpr const char* kWorkerQueueColumns = R"sql(
  id            {id},
  work_item     TEXT NOT NULL,
  visible_at    {int} NOT NULL DEFAULT 0,
  lock_token    TEXT,
  locked_until  {int},
  attempt_count {int} NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  created_at    {int} NOT NULL,
  instance_id   TEXT NOT NULL,
  execution_id  {int} NOT NULL,
  activity_id   {int} NOT NULL,
  session_id    TEXT,
  tag           TEXT
)sql";

constexpr const char* kInitialTables = R"sql(
CREATE TABLE instances (
  instance_id           TEXT PRIMARY KEY,
  orchestration_name    TEXT NOT NULL,
  orchestration_version TEXT,
  current_execution_id  {int} NOT NULL DEFAULT 1,
  parent_instance_id    TEXT,
  custom_status         TEXT,
  custom_status_version {int} NOT NULL DEFAULT 0,
  created_at            {int} NOT NULL,
  updated_at            {int} NOT NULL{instances_seq}
);
CREATE INDEX idx_instances_parent ON instances(parent_instance_id);
{instances_seq_index}
CREATE TABLE executions (
  instance_id  TEXT NOT NULL,
  execution_id {int} NOT NULL,
  status       TEXT NOT NULL DEFAULT 'Running',
  output       TEXT,
  error        TEXT,
  started_at   {int} NOT NULL,
  completed_at {int},
  PRIMARY KEY (instance_id, execution_id)
);

CREATE TABLE history (
  instance_id  TEXT NOT NULL,
  execution_id {int} NOT NULL,
  event_id     {int} NOT NULL,
  event_type   TEXT NOT NULL,
  event_data   TEXT NOT NULL,
  created_at   {int} NOT NULL,
  PRIMARY KEY (instance_id, execution_id, event_id)
);

CREATE TABLE orchestrator_queue ({orchestrator_queue});
CREATE INDEX idx_orch_visible ON orchestrator_queue(visible_at);
CREATE INDEX idx_orch_instance ON orchestrator_queue(instance_id, kind);
CREATE INDEX idx_orch_lock ON orchestrator_queue(lock_token);

CREATE TABLE instance_locks (
  instance_id  TEXT PRIMARY KEY,
  lock_token   TEXT NOT NULL UNIQUE,
  locked_until {int} NOT NULL,
  locked_at    {int} NOT NULL
);

CREATE TABLE worker_queue ({worker_queue});
CREATE INDEX idx_worker_visible ON worker_queue(visible_at);
CREATE INDEX idx_worker_lock ON worker_queue(lock_token);
CREATE INDEX idx_worker_identity ON worker_queue(instance_id, execution_id, activity_id);
CREATE INDEX idx_worker_session ON worker_queue(session_id);

CREATE TABLE sessions (
  session_id       TEXT PRIMARY KEY,
  worker_id        TEXT NOT NULL,
  locked_until     {int} NOT NULL,
  last_activity_at {int} NOT NULL
);

CREATE TABLE kv_store (
  instance_id        TEXT NOT NULL,
  key                TEXT NOT NULL,
  value              TEXT NOT NULL,
  last_updated_at_ms {int} NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, key)
);

CREATE TABLE kv_delta (
  instance_id        TEXT NOT NULL,
  key                TEXT NOT NULL,
  value              TEXT,
  last_updated_at_ms {int} NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, key)
);
)sql";

// A topic's seq (topics.last_seq) and a subscription's cursor count entries of topic_log.
constexpr const char* kMessagingTables = R"sql(
CREATE TABLE dead_letters (
  id          {rowid_pk},
  instance_id TEXT NOT NULL,
  queue       TEXT NOT NULL,
  data        TEXT NOT NULL,
  meta        TEXT,
  reason      TEXT NOT NULL,
  created_at  {int} NOT NULL
);
CREATE INDEX idx_dead_letters_instance ON dead_letters(instance_id);
CREATE TABLE topics (
  topic      TEXT PRIMARY KEY,
  last_seq   {int} NOT NULL DEFAULT 0,
  created_at {int} NOT NULL
){keyed};
CREATE TABLE topic_log (
  topic        TEXT NOT NULL,
  seq          {int} NOT NULL,
  data         TEXT NOT NULL,
  meta         TEXT,
  published_at {int} NOT NULL,
  PRIMARY KEY (topic, seq)
){keyed};
CREATE TABLE subscriptions (
  topic       TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  cursor      {int} NOT NULL,
  created_at  {int} NOT NULL,
  PRIMARY KEY (topic, instance_id)
){keyed};
CREATE INDEX idx_subscriptions_instance ON subscriptions(instance_id);
CREATE TABLE client_replies (
  request_id TEXT PRIMARY KEY,
  payload    TEXT NOT NULL,
  created_at {int} NOT NULL
){keyed};
)sql";

// One row per runtime; name is UNIQUE so that the store decides name conflicts. capacity,
// load, serves, tags, capabilities and session_owners are JSON text written by the runtime
// (never interpreted by the store).
constexpr const char* kWorkersTable = R"sql(
CREATE TABLE workers (
  worker_id             TEXT PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  host                  TEXT NOT NULL,
  pid                   {int} NOT NULL,
  version               TEXT NOT NULL,
  service_name          TEXT,
  service_version       TEXT,
  status                TEXT NOT NULL,
  drain_requested       {flag},
  started_at            {int} NOT NULL,
  registered_at         {int} NOT NULL,
  last_heartbeat        {int} NOT NULL,
  heartbeat_interval_ms {int} NOT NULL,
  capacity              TEXT NOT NULL,
  load                  TEXT NOT NULL,
  serves                TEXT NOT NULL,
  tags                  TEXT NOT NULL,
  capabilities          TEXT,
  session_owners        TEXT NOT NULL
);
)sql";

// A worker row's requirement is a schema hash (+ the requires_timeout deadline and the
// retry-elsewhere avoid list); each distinct schema is stored once in `schemas`. `task_cache`
// holds task results by key (task, version, canonical input).
constexpr const char* kRoutingTables = R"sql(
ALTER TABLE worker_queue ADD COLUMN schema_hash TEXT;
ALTER TABLE worker_queue ADD COLUMN requires_deadline {int};
ALTER TABLE worker_queue ADD COLUMN avoid_workers TEXT;
ALTER TABLE worker_queue ADD COLUMN avoid_until {int};
CREATE TABLE schemas (
  hash       TEXT PRIMARY KEY,
  json       TEXT NOT NULL,
  created_at {int} NOT NULL
){keyed};
CREATE TABLE task_cache (
  key        TEXT PRIMARY KEY,
  task       TEXT NOT NULL,
  result     TEXT NOT NULL,
  expires_at {int} NOT NULL DEFAULT 0,
  created_at {int} NOT NULL
){keyed};
CREATE INDEX idx_task_cache_task ON task_cache(task);
)sql";

}  // namespace

std::string ExpandSql(const char* text,
                      std::initializer_list<std::pair<const char*, std::string>> values) {
  std::string out;
  for (const char* p = text; *p != '\0';) {
    bool replaced = false;
    if (*p == '{') {
      for (const auto& [name, value] : values) {
        const size_t n = std::strlen(name);
        if (std::strncmp(p + 1, name, n) == 0 && p[1 + n] == '}') {
          out += value;
          p += n + 2;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += *p++;
  }
  return out;
}

std::string OrchestratorQueueColumns(const DdlDialect& d, const char* id_type) {
  return ExpandSql(kOrchestratorQueueColumns, {{"id", id_type}, {"int", d.int64}});
}

std::string WorkerQueueColumns(const DdlDialect& d, const char* id_type) {
  return ExpandSql(kWorkerQueueColumns, {{"id", id_type}, {"int", d.int64}});
}

std::string InitialTablesSql(const DdlDialect& d) {
  return ExpandSql(kInitialTables,
                   {{"int", d.int64},
                    {"instances_seq", d.instances_seq},
                    {"instances_seq_index", d.instances_seq_index},
                    {"orchestrator_queue", OrchestratorQueueColumns(d, d.serial_pk)},
                    {"worker_queue", WorkerQueueColumns(d, d.serial_pk)}});
}

std::string MessagingTablesSql(const DdlDialect& d) {
  return ExpandSql(kMessagingTables,
                   {{"int", d.int64}, {"rowid_pk", d.rowid_pk}, {"keyed", d.keyed_table}});
}

std::string WorkersTableSql(const DdlDialect& d) {
  return ExpandSql(kWorkersTable, {{"int", d.int64}, {"flag", d.flag}});
}

std::string RoutingTablesSql(const DdlDialect& d) {
  return ExpandSql(kRoutingTables, {{"int", d.int64}, {"keyed", d.keyed_table}});
}

}  // namespace duroxide::providers::store
