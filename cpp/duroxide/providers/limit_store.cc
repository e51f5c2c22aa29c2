// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/limit_store.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <utility>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"

namespace duroxide::providers {

namespace {

// Tokens are compared with this slack so that a bucket refilled to 0.9999999 by floating
// point arithmetic still counts as one token.
constexpr double kTokenEpsilon = 1e-9;

std::string Real(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

SqlParam OptReal(const std::optional<double>& v) {
  return v ? SqlParam(Real(*v)) : SqlParam(std::monostate());
}

int64_t Int(const SqlRow& row, size_t i) { return row[i] ? std::stoll(*row[i]) : 0; }
double Dbl(const SqlRow& row, size_t i) { return row[i] ? std::stod(*row[i]) : 0.0; }
std::string Text(const SqlRow& row, size_t i) { return row[i] ? *row[i] : std::string(); }

constexpr const char* kSelectSpec =
    "SELECT name, concurrency, rate_per_s, burst, per_key, created_at, updated_at FROM limits";

LimitSpec SpecFrom(const SqlRow& row) {
  LimitSpec s;
  s.name = Text(row, 0);
  if (row[1]) s.concurrency = Int(row, 1);
  if (row[2]) s.rate_per_s = Dbl(row, 2);
  if (row[3]) s.burst = Dbl(row, 3);
  s.per_key = Int(row, 4) != 0;
  s.created_at_ms = Int(row, 5);
  s.updated_at_ms = Int(row, 6);
  return s;
}

std::optional<LimitSpec> ReadSpec(ScheduleTx& tx, const std::string& name) {
  std::vector<SqlRow> rows = tx.Query(std::string(kSelectSpec) + " WHERE name = $1", {name});
  if (rows.empty()) return std::nullopt;
  return SpecFrom(rows[0]);
}

// The bucket key: the limit key when per key, "" for a limit shared by every key.
std::string BucketKey(const LimitSpec& spec, const std::string& key) {
  return spec.per_key ? key : std::string();
}

// Tokens of the bucket at `now` (a missing bucket is full).
double TokensAt(ScheduleTx& tx, const LimitSpec& spec, const std::string& key, int64_t now) {
  const double burst = EffectiveBurst(spec);
  std::vector<SqlRow> rows = tx.Query(
      "SELECT tokens, updated_at FROM limit_buckets WHERE name = $1 AND limit_key = $2",
      {spec.name, BucketKey(spec, key)});
  if (rows.empty()) return burst;
  const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now - Int(rows[0], 1))) / 1000;
  return std::min(burst, Dbl(rows[0], 0) + elapsed_s * spec.rate_per_s.value_or(0));
}

// Every task of every limit as (limit_name, limit_key, f, w): f = 1 when it holds the limit
// now, w = 1 when it waits. Activity rows hold it while leased; orchestration starts hold it
// through their instance's slot (instance_limits), and a start without one waits.
std::string LoadRows(const std::string& now) {
  const std::string leased = "locked_until > CAST(" + now + " AS BIGINT)";
  return "(SELECT limit_name, limit_key, CASE WHEN " + leased + " THEN 1 ELSE 0 END AS f, "
         "CASE WHEN " + leased + " THEN 0 ELSE 1 END AS w FROM worker_queue "
         "WHERE limit_name IS NOT NULL "
         "UNION ALL SELECT limit_name, limit_key, 1, 0 FROM instance_limits "
         "UNION ALL SELECT s.limit_name, s.limit_key, 0, 1 FROM orchestrator_queue s "
         "WHERE s.limit_name IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instance_limits h "
         "WHERE h.instance_id = s.instance_id)) t";
}

std::map<std::string, std::pair<int64_t, int64_t>> LoadByLimit(ScheduleTx& tx, int64_t now) {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (const SqlRow& row : tx.Query("SELECT limit_name, COALESCE(SUM(f), 0), COALESCE(SUM(w), 0) "
                                    "FROM " + LoadRows("$1") + " GROUP BY limit_name",
                                    {now})) {
    out[Text(row, 0)] = {Int(row, 1), Int(row, 2)};
  }
  return out;
}

std::vector<LimitKeyLoad> TopKeys(ScheduleTx& tx, const std::string& name, int64_t now) {
  std::vector<LimitKeyLoad> out;
  for (const SqlRow& row : tx.Query(
           "SELECT limit_key, SUM(f) AS sf, SUM(w) AS sw FROM " + LoadRows("$2") +
           " WHERE limit_name = $1 GROUP BY limit_key ORDER BY sf DESC, sw DESC, limit_key "
           "LIMIT " + std::to_string(kLimitTopKeys),
           {name, now})) {
    out.push_back({Text(row, 0), Int(row, 1), Int(row, 2)});
  }
  return out;
}

LimitInfo InfoOf(ScheduleTx& tx, LimitSpec spec,
                 const std::map<std::string, std::pair<int64_t, int64_t>>& load, int64_t now) {
  LimitInfo info;
  auto it = load.find(spec.name);
  if (it != load.end()) std::tie(info.in_flight, info.waiting) = it->second;
  if (spec.per_key && it != load.end()) info.top_keys = TopKeys(tx, spec.name, now);
  info.spec = std::move(spec);
  return info;
}

}  // namespace

Status ValidateLimit(const LimitSpec& spec) {
  const char* op = "set_limit";
  if (spec.name.empty()) return Status::InvalidArgument(op, "name must not be empty");
  if (!spec.concurrency && !spec.rate_per_s) {
    return Status::InvalidArgument(op, "a limit needs concurrency or rate_per_s (or both)");
  }
  if (spec.concurrency && *spec.concurrency < 1) {
    return Status::InvalidArgument(op, "concurrency must be >= 1, got " +
                                           std::to_string(*spec.concurrency));
  }
  if (spec.rate_per_s && !(*spec.rate_per_s > 0 && std::isfinite(*spec.rate_per_s))) {
    return Status::InvalidArgument(op, "rate_per_s must be > 0, got " + Real(*spec.rate_per_s));
  }
  if (spec.burst && !(*spec.burst > 0 && std::isfinite(*spec.burst))) {
    return Status::InvalidArgument(op, "burst must be > 0, got " + Real(*spec.burst));
  }
  if (spec.burst && !spec.rate_per_s) {
    return Status::InvalidArgument(op, "burst needs rate_per_s");
  }
  return Status::Ok();
}

double EffectiveBurst(const LimitSpec& spec) {
  if (spec.burst) return *spec.burst;
  return std::max(1.0, spec.rate_per_s.value_or(1.0));
}

const char* LimitsTableSql() {
  return R"sql(
CREATE TABLE limits (
  name        TEXT PRIMARY KEY,
  concurrency BIGINT,
  rate_per_s  DOUBLE PRECISION,
  burst       DOUBLE PRECISION,
  per_key     INTEGER NOT NULL DEFAULT 0,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE TABLE limit_buckets (
  name       TEXT NOT NULL,
  limit_key  TEXT NOT NULL,
  tokens     DOUBLE PRECISION NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (name, limit_key)
);
ALTER TABLE worker_queue ADD COLUMN limit_name TEXT;
ALTER TABLE worker_queue ADD COLUMN limit_key TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_worker_limit ON worker_queue(limit_name, limit_key, locked_until)
  WHERE limit_name IS NOT NULL;
)sql";
}

std::string LimitClaimPredicate(const std::string& col, const std::string& now,
                                const std::string& least) {
  const std::string name = col + "limit_name";
  const std::string key = col + "limit_key";
  return "(" + name + " IS NULL OR EXISTS (SELECT 1 FROM limits l WHERE l.name = " + name +
         " AND (l.concurrency IS NULL OR (SELECT COUNT(*) FROM worker_queue w "
         "WHERE w.limit_name = " + name + " AND (l.per_key = 0 OR w.limit_key = " + key +
         ") AND w.locked_until > " + now + ") < l.concurrency) "
         "AND (l.rate_per_s IS NULL OR COALESCE((SELECT " + least +
         "(l.burst, b.tokens + (" + now + " - b.updated_at) * l.rate_per_s / 1000.0) "
         "FROM limit_buckets b WHERE b.name = " + name +
         " AND b.limit_key = CASE WHEN l.per_key = 0 THEN '' ELSE " + key +
         " END), l.burst) >= 0.999999999)))";
}

const char* OrchestrationLimitsTableSql() {
  return R"sql(
ALTER TABLE orchestrator_queue ADD COLUMN limit_name TEXT;
ALTER TABLE orchestrator_queue ADD COLUMN limit_key TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_orch_limit ON orchestrator_queue(instance_id) WHERE limit_name IS NOT NULL;
CREATE TABLE instance_limits (
  instance_id TEXT PRIMARY KEY,
  limit_name  TEXT NOT NULL,
  limit_key   TEXT NOT NULL,
  acquired_at BIGINT NOT NULL
);
CREATE INDEX idx_instance_limits ON instance_limits(limit_name, limit_key);
)sql";
}

namespace {

// "The limit of start row `s` has a free slot": it exists, and fewer than `concurrency`
// instances of it (of the same key when per_key) hold slots. No concurrency: always room.
constexpr const char* kStartHasRoom =
    "EXISTS (SELECT 1 FROM limits l WHERE l.name = s.limit_name AND (l.concurrency IS NULL "
    "OR (SELECT COUNT(*) FROM instance_limits h2 WHERE h2.limit_name = s.limit_name "
    "AND (l.per_key = 0 OR h2.limit_key = s.limit_key)) < l.concurrency))";

}  // namespace

std::string OrchestrationLimitPredicate(const std::string& alias, const std::string& now) {
  return "NOT EXISTS (SELECT 1 FROM orchestrator_queue s WHERE s.instance_id = " + alias +
         ".instance_id "
         "AND s.limit_name IS NOT NULL AND s.visible_at <= " + now +
         " AND NOT EXISTS (SELECT 1 FROM instance_limits h WHERE h.instance_id = s.instance_id)"
         " AND NOT EXISTS (SELECT 1 FROM orchestrator_queue c WHERE c.instance_id = "
         "s.instance_id AND c.kind = 'CancelInstance') AND NOT " + kStartHasRoom + ")";
}

const char* OrchestrationSlotInsertSql() {
  static const std::string sql =
      "INSERT INTO instance_limits(instance_id, limit_name, limit_key, acquired_at) "
      "SELECT s.instance_id, s.limit_name, s.limit_key, CAST($2 AS BIGINT) "
      "FROM orchestrator_queue s WHERE s.instance_id = $1 AND s.limit_name IS NOT NULL "
      "AND s.visible_at <= CAST($2 AS BIGINT) "
      "AND NOT EXISTS (SELECT 1 FROM instance_limits h WHERE h.instance_id = $1) AND " +
      std::string(kStartHasRoom) + " ORDER BY s.id LIMIT 1 ON CONFLICT (instance_id) DO NOTHING";
  return sql.c_str();
}

namespace {

// True when the limit has a free slot and a token for `key` at `now`.
bool HasRoom(ScheduleTx& tx, const LimitSpec* spec, const std::string& key, int64_t now) {
  const std::string& name = spec->name;
  if (spec->concurrency) {
    std::vector<SqlRow> rows = spec->per_key
        ? tx.Query("SELECT COUNT(*) FROM worker_queue WHERE limit_name = $1 AND limit_key = $2 "
                   "AND locked_until > CAST($3 AS BIGINT)", {name, key, now})
        : tx.Query("SELECT COUNT(*) FROM worker_queue WHERE limit_name = $1 "
                   "AND locked_until > CAST($2 AS BIGINT)", {name, now});
    if (Int(rows[0], 0) >= *spec->concurrency) return false;
  }
  return !spec->rate_per_s || TokensAt(tx, *spec, key, now) >= 1 - kTokenEpsilon;
}

// One row of a waits query (work_item, limit_name, limit_key, visible_at, defined): an
// activity keeps its id; an orchestration start is listed with activity_id 0.
LimitWait WaitFromRow(const SqlRow& row, bool activity) {
  LimitWait w;
  Result<history::WorkItem> item = history::DecodeWorkItem(Text(row, 0));
  if (item.ok()) {
    w.instance = item->instance;
    w.execution_id = item->execution_id;
    if (activity) w.activity_id = item->id;
    w.name = item->name;
  }
  w.limit = Text(row, 1);
  w.limit_key = Text(row, 2);
  w.waiting_since_ms = Int(row, 3);
  w.defined = Int(row, 4) != 0;
  return w;
}

}  // namespace

bool LimitAdmits(ScheduleTx& tx, const std::string& name, const std::string& key, int64_t now) {
  std::optional<LimitSpec> spec = ReadSpec(tx, name);
  if (!spec) return false;
  if (!tx.TryLock("limit\x1f" + name + "\x1f" + BucketKey(*spec, key))) return false;
  return HasRoom(tx, &*spec, key, now);
}

void ConsumeLimitToken(ScheduleTx& tx, const std::string& name, const std::string& key,
                       int64_t now) {
  std::optional<LimitSpec> spec = ReadSpec(tx, name);
  if (!spec || !spec->rate_per_s) return;
  const double left = TokensAt(tx, *spec, key, now) - 1;
  tx.Exec("INSERT INTO limit_buckets(name, limit_key, tokens, updated_at) "
          "VALUES ($1, $2, CAST($3 AS DOUBLE PRECISION), CAST($4 AS BIGINT)) "
          "ON CONFLICT (name, limit_key) DO UPDATE SET tokens = excluded.tokens, "
          "updated_at = excluded.updated_at",
          {name, BucketKey(*spec, key), Real(left), now});
}

Status LimitStore::Set(const LimitSpec& spec) {
  DUROXIDE_RETURN_IF_ERROR(ValidateLimit(spec));
  return backend_->RunScheduleTx("set_limit", [&](ScheduleTx& tx) -> Status {
    std::optional<LimitSpec> old = ReadSpec(tx, spec.name);
    if (old && old->concurrency == spec.concurrency && old->rate_per_s == spec.rate_per_s &&
        old->per_key == spec.per_key &&
        (!spec.rate_per_s || old->burst == EffectiveBurst(spec))) {
      return Status::Ok();  // unchanged (a runtime upserting its declarations on start)
    }
    const int64_t now = NowMs();
    const SqlParam concurrency =
        spec.concurrency ? SqlParam(*spec.concurrency) : SqlParam(std::monostate());
    tx.Exec("INSERT INTO limits(name, concurrency, rate_per_s, burst, per_key, created_at, "
            "  updated_at) VALUES ($1, CAST($2 AS BIGINT), CAST($3 AS DOUBLE PRECISION), "
            "  CAST($4 AS DOUBLE PRECISION), CAST($5 AS INTEGER), CAST($6 AS BIGINT), "
            "  CAST($6 AS BIGINT)) "
            "ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency, "
            "  rate_per_s = excluded.rate_per_s, burst = excluded.burst, "
            "  per_key = excluded.per_key, updated_at = excluded.updated_at",
            {spec.name, concurrency, OptReal(spec.rate_per_s),
             spec.rate_per_s ? SqlParam(Real(EffectiveBurst(spec))) : SqlParam(std::monostate()),
             int64_t{spec.per_key ? 1 : 0}, now});
    tx.Exec("DELETE FROM limit_buckets WHERE name = $1", {spec.name});
    return Status::Ok();
  });
}

Result<std::optional<LimitInfo>> LimitStore::Get(const std::string& name) {
  using Out = std::optional<LimitInfo>;
  return ReadTx<Out>(*backend_, "get_limit", [&](ScheduleTx& tx, Out* out) -> Status {
    std::optional<LimitSpec> spec = ReadSpec(tx, name);
    if (!spec) return Status::Ok();
    const int64_t now = NowMs();
    *out = InfoOf(tx, std::move(*spec), LoadByLimit(tx, now), now);
    return Status::Ok();
  });
}

Result<std::vector<LimitInfo>> LimitStore::List() {
  using Out = std::vector<LimitInfo>;
  return ReadTx<Out>(*backend_, "list_limits", [&](ScheduleTx& tx, Out* out) -> Status {
    const int64_t now = NowMs();
    const auto load = LoadByLimit(tx, now);
    for (const SqlRow& row : tx.Query(std::string(kSelectSpec) + " ORDER BY name", {})) {
      out->push_back(InfoOf(tx, SpecFrom(row), load, now));
    }
    return Status::Ok();
  });
}

Status LimitStore::Delete(const std::string& name) {
  return backend_->RunScheduleTx("delete_limit", [&](ScheduleTx& tx) -> Status {
    if (tx.Exec("DELETE FROM limits WHERE name = $1", {name}) == 0) {
      return Status::NotFound("delete_limit", "no limit named '" + name + "'");
    }
    tx.Exec("DELETE FROM limit_buckets WHERE name = $1", {name});
    return Status::Ok();
  });
}

Result<std::vector<LimitWait>> LimitStore::Waiting(int64_t min_wait_ms, int64_t max_rows) {
  using Out = std::vector<LimitWait>;
  return ReadTx<Out>(*backend_, "list_waiting_activities", [&](ScheduleTx& tx, Out* out) -> Status {
    const int64_t now = NowMs();
    std::map<std::pair<std::string, std::string>, bool> room;  // (limit, key) -> has room
    for (const SqlRow& row : tx.Query(
             "SELECT q.work_item, q.limit_name, q.limit_key, q.visible_at, "
             "  CASE WHEN EXISTS (SELECT 1 FROM limits l WHERE l.name = q.limit_name) "
             "    THEN 1 ELSE 0 END "
             "FROM worker_queue q WHERE q.limit_name IS NOT NULL "
             "  AND q.visible_at <= CAST($1 AS BIGINT) "
             "  AND (q.locked_until IS NULL OR q.locked_until <= CAST($2 AS BIGINT)) "
             "ORDER BY q.visible_at, q.id LIMIT " + std::to_string(std::max<int64_t>(0, max_rows)),
             {now - min_wait_ms, now})) {
      LimitWait w = WaitFromRow(row, /*activity=*/true);
      if (w.defined) {  // held back only if its limit has no room now
        auto it = room.find({w.limit, w.limit_key});
        if (it == room.end()) {
          std::optional<LimitSpec> spec = ReadSpec(tx, w.limit);
          const bool free = spec && HasRoom(tx, &*spec, w.limit_key, now);
          it = room.emplace(std::make_pair(w.limit, w.limit_key), free).first;
        }
        if (it->second) continue;
      }
      out->push_back(std::move(w));
    }
    // Orchestration starts held back by their limit (no slot, and none free or no such
    // limit), listed like activities with activity_id 0 and the orchestration's name.
    for (const SqlRow& row : tx.Query(
             "SELECT s.work_item, s.limit_name, s.limit_key, s.visible_at, "
             "  CASE WHEN EXISTS (SELECT 1 FROM limits l WHERE l.name = s.limit_name) "
             "    THEN 1 ELSE 0 END "
             "FROM orchestrator_queue s WHERE s.limit_name IS NOT NULL "
             "  AND s.visible_at <= CAST($1 AS BIGINT) AND NOT EXISTS (SELECT 1 FROM "
             "  instance_limits h WHERE h.instance_id = s.instance_id) AND NOT " +
             std::string(kStartHasRoom) + " ORDER BY s.visible_at, s.id LIMIT " +
             std::to_string(std::max<int64_t>(0, max_rows)),
             {now - min_wait_ms})) {
      out->push_back(WaitFromRow(row, /*activity=*/false));
    }
    return Status::Ok();
  });
}

}  // namespace duroxide::providers
