// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The SQLite side of export/import (store_dump.h): a session on its own connection to the
// provider's file, so that a long export snapshot or an import never holds the provider's
// writer lock (mu_) and the runtime's commits continue (WAL readers do not block the writer).
#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"
#include "duroxide/providers/store_dump.h"

namespace duroxide::providers::sqlite {
namespace {

using dump::Column;
using dump::ColumnKind;
using dump::Json;
using dump::TableInfo;

ColumnKind KindOf(std::string type) {
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (type.find("INT") != std::string::npos) return ColumnKind::kInteger;
  if (type.find("BOOL") != std::string::npos) return ColumnKind::kBoolean;
  if (type.find("REAL") != std::string::npos || type.find("FLOA") != std::string::npos ||
      type.find("DOUB") != std::string::npos) {
    return ColumnKind::kReal;
  }
  return ColumnKind::kText;
}

class SqliteSession : public dump::SqlSession {
 public:
  // A read-only store (SqliteOptions::read_only) gets a read-only session: it can be
  // exported and verified, and an import into it fails at its first write.
  SqliteSession(const std::string& path, int busy_timeout_ms, bool read_only)
      : db_(path, (read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE) |
                      SQLite::OPEN_NOMUTEX,
            busy_timeout_ms) {}

  const char* dialect() const override { return "sqlite"; }

  std::vector<TableInfo> Tables() override {
    std::vector<TableInfo> out;
    SQLite::Statement q(db_, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    while (q.executeStep()) out.push_back(TableInfo{q.getColumn(0).getString(), {}, {}});
    for (TableInfo& t : out) {
      // PRAGMA table_info: cid, name, type, notnull, dflt_value, pk (1-based key position).
      SQLite::Statement info(db_, "PRAGMA table_info(" + QuoteName(t.name) + ")");
      std::vector<std::pair<int, std::string>> key;
      while (info.executeStep()) {
        t.columns.push_back(Column{info.getColumn(1).getString(), KindOf(info.getColumn(2).getString())});
        const int pk = info.getColumn(5).getInt();
        if (pk > 0) key.emplace_back(pk, info.getColumn(1).getString());
      }
      std::sort(key.begin(), key.end());
      for (auto& k : key) t.key.push_back(k.second);
    }
    return out;
  }

  void Query(const std::string& sql, const std::function<void(std::vector<Json>&)>& row) override {
    SQLite::Statement q(db_, sql);
    const int n = q.getColumnCount();
    std::vector<Json> values(static_cast<size_t>(n));
    while (q.executeStep()) {
      for (int i = 0; i < n; ++i) {
        SQLite::Column c = q.getColumn(i);
        switch (c.getType()) {
          case SQLITE_NULL: values[i] = nullptr; break;
          case SQLITE_INTEGER: values[i] = c.getInt64(); break;
          case SQLITE_FLOAT: values[i] = c.getDouble(); break;
          default: values[i] = c.getString(); break;
        }
      }
      row(values);
    }
  }

  int64_t Exec(const std::string& sql) override { return db_.exec(sql); }

  std::string Literal(const Json& v) override {
    if (std::optional<std::string> scalar = dump::ScalarLiteral(v, "1", "0")) return *scalar;
    const std::string s = v.get<std::string>();
    std::string out = "'";
    for (char c : s) {
      out += c;
      if (c == '\'') out += '\'';
    }
    return out + "'";
  }

  std::string QuoteName(const std::string& ident) override {
    std::string out = "\"";
    for (char c : ident) {
      out += c;
      if (c == '"') out += '"';
    }
    return out + "\"";
  }

  void BeginRead() override { db_.exec("BEGIN"); }
  void BeginWrite() override { db_.exec("BEGIN IMMEDIATE"); }
  void Commit() override { db_.exec("COMMIT"); }
  void Rollback() noexcept override {
    if (sqlite3_get_autocommit(db_.getHandle()) == 0) db_.tryExec("ROLLBACK");
  }

  Status ToStatus(const std::exception& e, const std::string& op) override {
    if (const auto* se = dynamic_cast<const SQLite::Exception*>(&e)) {
      return StatusFromSqliteError(se->getErrorCode(), se->getExtendedErrorCode(), op, e.what());
    }
    return Status::Internal(op, e.what());
  }

 private:
  SQLite::Database db_;
};

}  // namespace

Result<std::unique_ptr<dump::SqlSession>> SqliteProvider::OpenDumpSession() {
  if (path_.empty()) {
    return Status::FailedPrecondition("OpenDumpSession",
                                      "an in-memory SQLite store cannot be exported or imported");
  }
  return internal::Guarded("OpenDumpSession", [&]() -> Result<std::unique_ptr<dump::SqlSession>> {
    return std::unique_ptr<dump::SqlSession>(new SqliteSession(path_, 60000, read_only_));
  });
}

}  // namespace duroxide::providers::sqlite
