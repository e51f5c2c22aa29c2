// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/store_dump.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "duroxide/common/clock.h"

namespace duroxide::providers::dump {
namespace {

// Not copied: the worker registry (workers belong to the old store's processes), leases and
// session affinity (they name those workers), the schema bookkeeping (each store has its own)
// and the marker of an import in progress.
const std::set<std::string>& NotCopied() {
  static const std::set<std::string> k = {"schema_version", "_duroxide_migrations", "workers",
                                          "instance_locks", "sessions", kMarkerTable,
                                          "sqlite_sequence"};
  return k;
}
// Columns that only one provider has, maintained by that provider (PostgreSQL's listing order).
const std::set<std::string>& LocalColumns() {
  static const std::set<std::string> k = {"instances.seq"};
  return k;
}
// Columns of a lease: dumped as NULL, so that leased work is claimable in the target.
bool IsLeaseColumn(const std::string& c) {
  return c == "lock_token" || c == "locked_until" || c == "locked_at";
}

int Priority(const std::string& table) {
  if (table == "instances") return 0;
  if (table == "executions") return 1;
  if (table == "history") return 2;
  return 3;
}

// FNV-1a 64: a stable hash (the same on every build and platform), for digests.
uint64_t Fnv(uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}
constexpr uint64_t kFnvBasis = 1469598103934665603ULL;

std::string Hex(uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = d[v & 15];
  return out;
}

std::string InList(SqlSession& s, const std::vector<std::string>& ids) {
  if (ids.empty()) return "NULL";
  std::string out;
  for (const std::string& id : ids) {
    if (!out.empty()) out += ", ";
    out += s.Literal(Json(id));
  }
  return out;
}

std::string ColumnList(SqlSession& s, const std::vector<Column>& cols) {
  std::string out;
  for (const Column& c : cols) {
    if (!out.empty()) out += ", ";
    out += s.QuoteName(c.name);
  }
  return out;
}

const TablePlan* Find(const std::vector<TablePlan>& plan, const std::string& name) {
  for (const TablePlan& t : plan) {
    if (t.info.name == name) return &t;
  }
  return nullptr;
}

// A value read from one store, as the target column `kind` expects it (SQLite has no boolean).
Json Coerce(Json v, ColumnKind kind) {
  if (kind == ColumnKind::kBoolean && v.is_number_integer()) return Json(v.get<int64_t>() != 0);
  if (kind != ColumnKind::kBoolean && v.is_boolean()) return Json(v.get<bool>() ? 1 : 0);
  return v;
}

// Runs `body` with the session's exceptions turned into a Status of operation `op`.
template <typename F>
Status Guard(SqlSession& s, const std::string& op, F&& body) {
  try {
    body();
    return Status::Ok();
  } catch (const nlohmann::json::exception& e) {
    s.Rollback();
    return Status::DataLoss(op, e.what());
  } catch (const std::exception& e) {
    Status st = s.ToStatus(e, op);
    s.Rollback();
    return st;
  }
}

}  // namespace

std::optional<std::string> ScalarLiteral(const Json& v, const char* true_text,
                                         const char* false_text) {
  if (v.is_null()) return "NULL";
  if (v.is_boolean()) return v.get<bool>() ? true_text : false_text;
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%.17g", v.get<double>());
    return std::string(buf);
  }
  return std::nullopt;
}

std::vector<TablePlan> PlanTables(const std::vector<TableInfo>& tables) {
  std::vector<TablePlan> plan;
  for (const TableInfo& info : tables) {
    if (NotCopied().count(info.name) || info.name.rfind("sqlite_", 0) == 0) continue;
    TablePlan t;
    t.info = info;
    for (const Column& c : info.columns) {
      if (LocalColumns().count(info.name + "." + c.name)) continue;
      t.columns.push_back(c);
      if (c.name == "instance_id") t.instance_scoped = true;
      if (c.name == "topic") t.has_topic = true;
    }
    if (info.key.size() == 1 && info.key[0] == "id") {
      for (const Column& c : info.columns) {
        if (c.name == "id" && c.kind == ColumnKind::kInteger) t.surrogate_id = true;
      }
    }
    plan.push_back(std::move(t));
  }
  std::stable_sort(plan.begin(), plan.end(), [](const TablePlan& a, const TablePlan& b) {
    const int pa = Priority(a.info.name), pb = Priority(b.info.name);
    return pa != pb ? pa < pb : a.info.name < b.info.name;
  });
  return plan;
}

// ---- export --------------------------------------------------------------------------------

Result<std::unique_ptr<Exporter>> Exporter::Open(std::unique_ptr<SqlSession> session,
                                                 ExportFilter filter) {
  std::unique_ptr<Exporter> e(new Exporter(std::move(session), std::move(filter)));
  SqlSession& s = *e->s_;
  Status st = Guard(s, "export", [&] {
    s.BeginRead();
    e->plan_ = PlanTables(s.Tables());
  });
  if (!st.ok()) return st;
  if (!Find(e->plan_, "instances") || !Find(e->plan_, "history")) {
    return Status::InvalidArgument("export", "the source is not a duroxide store (no instances "
                                             "or history table)");
  }
  const TablePlan* inst = Find(e->plan_, "instances");
  st = Guard(s, "export", [&] {
    std::string where = e->Where(*inst);
    s.Query("SELECT COUNT(*) FROM instances" + (where.empty() ? "" : " WHERE " + where),
            [&](std::vector<Json>& row) { e->instances_total_ = row[0].get<int64_t>(); });
  });
  if (!st.ok()) return st;
  return e;
}

std::string Exporter::Where(const TablePlan& t) {
  if (!filter_.instance_ids && !filter_.status) return "";
  std::string sel;
  if (filter_.status) {
    sel = "SELECT i.instance_id FROM instances i JOIN executions e ON e.instance_id = "
          "i.instance_id AND e.execution_id = i.current_execution_id WHERE e.status = " +
          s_->Literal(Json(*filter_.status));
    if (filter_.instance_ids) sel += " AND i.instance_id IN (" + InList(*s_, *filter_.instance_ids) + ")";
  } else {
    sel = InList(*s_, *filter_.instance_ids);
  }
  if (t.instance_scoped) return "instance_id IN (" + sel + ")";
  // A selection takes the topics its instances subscribe to, and every global table whole.
  if (t.has_topic) return "topic IN (SELECT topic FROM subscriptions WHERE instance_id IN (" + sel + "))";
  return "";
}

void Exporter::Page(const TablePlan& t, size_t limit, std::string* out, size_t* rows) {
  std::string where = Where(t);
  const std::vector<std::string>& key = t.info.key;
  if (!key.empty() && !last_key_.empty()) {
    std::string lhs, rhs;
    for (size_t i = 0; i < key.size(); ++i) {
      lhs += (i ? ", " : "") + s_->QuoteName(key[i]);
      rhs += (i ? ", " : "") + s_->Literal(last_key_[i]);
    }
    const std::string after = key.size() == 1 ? lhs + " > " + rhs : "(" + lhs + ") > (" + rhs + ")";
    where = where.empty() ? after : "(" + where + ") AND " + after;
  }
  std::string sql = "SELECT " + ColumnList(*s_, t.columns) + " FROM " + s_->QuoteName(t.info.name);
  if (!where.empty()) sql += " WHERE " + where;
  std::string order;
  for (const std::string& k : key) order += (order.empty() ? "" : ", ") + s_->QuoteName(k);
  if (order.empty()) order = ColumnList(*s_, t.columns);
  sql += " ORDER BY " + order + " LIMIT " + std::to_string(limit);
  if (key.empty()) sql += " OFFSET " + std::to_string(offset_);
  std::vector<size_t> key_idx;
  for (const std::string& k : key) {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (t.columns[i].name == k) key_idx.push_back(i);
    }
  }
  size_t n = 0;
  s_->Query(sql, [&](std::vector<Json>& row) {
    last_key_.clear();
    for (size_t i : key_idx) last_key_.push_back(row[i]);
    for (size_t i = 0; i < row.size(); ++i) {
      if (IsLeaseColumn(t.columns[i].name)) row[i] = nullptr;
    }
    out->append(Json(row).dump());
    out->push_back('\n');
    ++n;
  });
  offset_ += static_cast<int64_t>(n);
  counts_[t.info.name] += static_cast<int64_t>(n);
  *rows += n;
  if (n < limit) table_done_ = true;
}

Result<std::string> Exporter::Next(size_t max_rows) {
  std::string out;
  size_t rows = 0;
  Status st = Guard(*s_, "export", [&] {
    max_rows = std::max<size_t>(max_rows, 1);
    while (rows < max_rows && table_ < plan_.size()) {
      const TablePlan& t = plan_[table_];
      if (!table_started_) {
        Json rec = {{"table", t.info.name}, {"columns", Json::array()}, {"key", t.info.key}};
        for (const Column& c : t.columns) rec["columns"].push_back(c.name);
        out += rec.dump() + "\n";
        counts_[t.info.name] += 0;
        table_started_ = true;
        table_done_ = false;
        last_key_.clear();
        offset_ = 0;
      }
      Page(t, max_rows - rows, &out, &rows);
      if (table_done_) {
        ++table_;
        table_started_ = false;
      }
    }
    if (table_ >= plan_.size() && out.empty()) s_->Commit();
  });
  if (!st.ok()) return st;
  return out;
}

// ---- validation ----------------------------------------------------------------------------

Status ValidateRows(const std::vector<std::string>& lines, size_t ncolumns,
                    const std::string& file, int64_t first_line) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = file + " line " + std::to_string(first_line + static_cast<int64_t>(i));
    Json row = Json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded()) return Status::InvalidArgument("import", where + ": not valid JSON");
    if (!row.is_array() || row.size() != ncolumns) {
      return Status::InvalidArgument("import", where + ": expected a row of " +
                                                   std::to_string(ncolumns) + " values");
    }
    for (const Json& v : row) {
      if (v.is_object() || v.is_array()) {
        return Status::InvalidArgument("import", where + ": a row value must be a scalar");
      }
    }
  }
  return Status::Ok();
}

// ---- import --------------------------------------------------------------------------------

Result<std::unique_ptr<Importer>> Importer::Open(std::unique_ptr<SqlSession> session,
                                                 const std::string& dump_id, bool merge) {
  std::unique_ptr<Importer> im(new Importer(std::move(session), merge));
  SqlSession& s = *im->s_;
  im->dump_id_ = dump_id;
  Status refuse = Status::Ok();
  Status st = Guard(s, "import", [&] {
    s.BeginWrite();
    im->plan_ = PlanTables(s.Tables());
    s.Exec("CREATE TABLE IF NOT EXISTS " + std::string(kMarkerTable) +
           " (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    std::optional<std::string> state;
    s.Query(std::string("SELECT v FROM ") + kMarkerTable + " WHERE k = 'state'",
            [&](std::vector<Json>& row) { state = row[0].get<std::string>(); });
    if (state) {
      im->state_ = Json::parse(*state);
      if (im->state_.value("dump_id", "") != dump_id) {
        refuse = Status::FailedPrecondition(
            "import", "the target has an unfinished import of another dump (" +
                          im->state_.value("dump_id", std::string("?")) +
                          "); run that import again to finish it first");
      }
      im->merge_ = im->state_.value("merge", false);
      im->result_.resumed = true;
    } else {
      int64_t n = 0;
      s.Query("SELECT COUNT(*) FROM instances", [&](std::vector<Json>& row) { n = row[0].get<int64_t>(); });
      if (n > 0 && !merge) {
        refuse = Status::FailedPrecondition(
            "import", "the target already holds " + std::to_string(n) +
                          " instances; use merge to skip the ids it has (nothing was written)");
      }
      im->state_ = {{"dump_id", dump_id}, {"merge", merge}, {"started_at_ms", NowMs()},
                    {"shifts", Json::object()}, {"rows", Json::object()}};
      for (const TablePlan& t : im->plan_) {
        if (!t.surrogate_id) continue;
        int64_t max_id = 0;
        s.Query("SELECT COALESCE(MAX(id), 0) FROM " + s.QuoteName(t.info.name),
                [&](std::vector<Json>& row) { max_id = row[0].get<int64_t>(); });
        im->state_["shifts"][t.info.name] = max_id;
      }
      if (refuse.ok()) {
        s.Exec(std::string("INSERT INTO ") + kMarkerTable + " (k, v) VALUES ('state', " +
               s.Literal(Json(im->state_.dump())) + ")");
      }
    }
    s.Query(std::string("SELECT k FROM ") + kMarkerTable + " WHERE k <> 'state'",
            [&](std::vector<Json>& row) { im->skipped_.insert(row[0].get<std::string>().substr(5)); });
    if (refuse.ok()) {
      s.Commit();
    } else {
      s.Rollback();
    }
  });
  if (!st.ok()) return st;
  if (!refuse.ok()) return refuse;
  return im;
}

int64_t Importer::committed(const std::string& table) const {
  return state_["rows"].value(table, int64_t{0});
}

Status Importer::BeginTable(const std::string& table, const std::vector<std::string>& columns,
                            const std::string& where) {
  table_ = Find(plan_, table);
  if (!table_) {
    return Status::InvalidArgument("import", where + ": table '" + table +
                                                 "' does not exist in the target store (a dump "
                                                 "of a newer duroxide?)");
  }
  columns_ = columns;
  target_kinds_.clear();
  instance_col_ = id_col_ = -1;
  for (size_t i = 0; i < columns.size(); ++i) {
    const Column* found = nullptr;
    for (const Column& c : table_->columns) {
      if (c.name == columns[i]) found = &c;
    }
    if (!found) {
      return Status::InvalidArgument("import", where + ": column '" + table + "." + columns[i] +
                                                   "' does not exist in the target store");
    }
    target_kinds_.push_back(found->kind);
    if (columns[i] == "instance_id") instance_col_ = static_cast<int>(i);
    if (columns[i] == "id" && table_->surrogate_id) id_col_ = static_cast<int>(i);
  }
  id_shift_ = state_["shifts"].value(table, int64_t{0});
  return Status::Ok();
}

std::string Importer::InsertSql(const std::vector<std::vector<Json>>& rows) {
  std::string cols;
  for (const std::string& c : columns_) cols += (cols.empty() ? "" : ", ") + s_->QuoteName(c);
  std::string sql = "INSERT INTO " + s_->QuoteName(table_->info.name) + " (" + cols + ") VALUES ";
  for (size_t r = 0; r < rows.size(); ++r) {
    sql += r ? ", (" : "(";
    for (size_t i = 0; i < rows[r].size(); ++i) {
      if (i) sql += ", ";
      sql += s_->Literal(rows[r][i]);
    }
    sql += ")";
  }
  // Rows a killed run committed are skipped by progress; this keeps a global row that the
  // target already has (merge: the target's copy wins).
  return sql + " ON CONFLICT DO NOTHING";
}

void Importer::SaveState() {
  s_->Exec(std::string("UPDATE ") + kMarkerTable + " SET v = " + s_->Literal(Json(state_.dump())) +
           " WHERE k = 'state'");
}

Status Importer::Insert(const std::vector<std::string>& lines, const std::string& where) {
  if (!table_) return Status::FailedPrecondition("import", where + ": rows before a table record");
  std::vector<std::vector<Json>> rows;
  rows.reserve(lines.size());
  for (const std::string& line : lines) {
    Json row = Json::parse(line, nullptr, false);
    if (row.is_discarded() || !row.is_array() || row.size() != columns_.size()) {
      return Status::InvalidArgument("import", where + ": malformed row");
    }
    for (size_t i = 0; i < row.size(); ++i) row[i] = Coerce(std::move(row[i]), target_kinds_[i]);
    if (id_col_ >= 0 && row[id_col_].is_number_integer()) {
      row[id_col_] = row[id_col_].get<int64_t>() + id_shift_;
    }
    rows.push_back(std::move(row).get<std::vector<Json>>());
  }
  return Guard(*s_, "import " + table_->info.name, [&] {
    s_->BeginWrite();
    {
      if (merge_ && instance_col_ >= 0 && table_->info.name == "instances" && !rows.empty()) {
        std::vector<std::string> ids;
        for (const auto& r : rows) ids.push_back(r[instance_col_].get<std::string>());
        s_->Query("SELECT instance_id FROM instances WHERE instance_id IN (" + InList(*s_, ids) + ")",
                  [&](std::vector<Json>& row) {
                    const std::string id = row[0].get<std::string>();
                    if (skipped_.insert(id).second) {
                      s_->Exec(std::string("INSERT INTO ") + kMarkerTable + " (k, v) VALUES (" +
                               s_->Literal(Json("skip:" + id)) + ", '')");
                    }
                  });
      }
      if (instance_col_ >= 0 && !skipped_.empty()) {
        rows.erase(std::remove_if(rows.begin(), rows.end(),
                                  [&](const std::vector<Json>& r) {
                                    return r[instance_col_].is_string() &&
                                           skipped_.count(r[instance_col_].get<std::string>());
                                  }),
                   rows.end());
      }
      // Bounded statements: SQLite allows a limited SQL length and PostgreSQL parses faster.
      const size_t chunk = std::max<size_t>(1, 20000 / std::max<size_t>(1, columns_.size()));
      for (size_t i = 0; i < rows.size(); i += chunk) {
        std::vector<std::vector<Json>> part(rows.begin() + static_cast<std::ptrdiff_t>(i),
                                            rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + chunk)));
        s_->Exec(InsertSql(part));
      }
      state_["rows"][table_->info.name] = committed(table_->info.name) + static_cast<int64_t>(lines.size());
      SaveState();
      s_->Commit();
    }
  });
}

Result<ImportResult> Importer::Finish() {
  Status st = Guard(*s_, "import", [&] {
    s_->BeginWrite();
    for (const TablePlan& t : plan_) {
      if (t.surrogate_id) s_->AfterExplicitIds(t.info.name, "id");
    }
    s_->Exec(std::string("DROP TABLE ") + kMarkerTable);
    s_->Commit();
  });
  if (!st.ok()) return st;
  for (auto it = state_["rows"].begin(); it != state_["rows"].end(); ++it) {
    result_.rows[it.key()] = it.value().get<int64_t>();
  }
  result_.skipped.assign(skipped_.begin(), skipped_.end());
  return result_;
}

// ---- verification --------------------------------------------------------------------------

Result<std::map<std::string, std::string>> DigestInstances(SqlSession& s,
                                                           const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  if (ids.empty()) return out;
  Status st = Guard(s, "verify", [&] {
    // Per instance and table: the row count and the sum of row hashes (a multiset hash, so
    // that the two stores' collations, which may order text keys differently, do not matter).
    std::map<std::string, std::map<std::string, std::pair<int64_t, uint64_t>>> acc;
    for (const TablePlan& t : PlanTables(s.Tables())) {
      if (!t.instance_scoped) continue;
      std::vector<Column> cols;
      size_t inst = 0;
      for (const Column& c : t.columns) {
        if (IsLeaseColumn(c.name) || (t.surrogate_id && c.name == "id")) continue;
        if (c.name == "instance_id") inst = cols.size();
        cols.push_back(c);
      }
      s.Query("SELECT " + ColumnList(s, cols) + " FROM " + s.QuoteName(t.info.name) +
                  " WHERE instance_id IN (" + InList(s, ids) + ")",
              [&](std::vector<Json>& row) {
                for (size_t i = 0; i < row.size(); ++i) row[i] = Coerce(std::move(row[i]), ColumnKind::kInteger);
                auto& slot = acc[row[inst].get<std::string>()][t.info.name];
                slot.first += 1;
                slot.second += Fnv(kFnvBasis, Json(row).dump());
              });
    }
    for (const auto& [id, tables] : acc) {
      uint64_t h = kFnvBasis;
      for (const auto& [table, v] : tables) {
        h = Fnv(h, table + ":" + std::to_string(v.first) + ":" + std::to_string(v.second) + ";");
      }
      out[id] = Hex(h);
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<std::string>> InstanceIdsAfter(SqlSession& s, const std::string& after,
                                                  int64_t limit) {
  std::vector<std::string> out;
  Status st = Guard(s, "verify", [&] {
    s.Query("SELECT instance_id FROM instances WHERE instance_id > " + s.Literal(Json(after)) +
                " ORDER BY instance_id LIMIT " + std::to_string(limit),
            [&](std::vector<Json>& row) { out.push_back(row[0].get<std::string>()); });
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::map<std::string, int64_t>> TableCounts(SqlSession& s) {
  std::map<std::string, int64_t> out;
  Status st = Guard(s, "verify", [&] {
    for (const TablePlan& t : PlanTables(s.Tables())) {
      s.Query("SELECT COUNT(*) FROM " + s.QuoteName(t.info.name),
              [&](std::vector<Json>& row) { out[t.info.name] = row[0].get<int64_t>(); });
    }
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::optional<std::string>> ImportMarker(SqlSession& s) {
  std::optional<std::string> out;
  Status st = Guard(s, "import marker", [&] {
    for (const TableInfo& t : s.Tables()) {
      if (t.name != kMarkerTable) continue;
      s.Query(std::string("SELECT v FROM ") + kMarkerTable + " WHERE k = 'state'",
              [&](std::vector<Json>& row) { out = row[0].get<std::string>(); });
    }
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace duroxide::providers::dump
