// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The PostgreSQL side of export/import (store_dump.h): a session on its own connection (not a
// pooled one: an export holds one REPEATABLE READ snapshot for its whole run), with
// search_path set to the provider's schema. Transactions are plain BEGIN/COMMIT statements on
// a nontransaction, because the copier decides where they begin and end.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "duroxide/providers/postgres/pg_errors.h"
#include "duroxide/providers/postgres/pg_pool.h"
#include "duroxide/providers/postgres/postgres_provider.h"
#include "duroxide/providers/store_dump.h"

namespace duroxide::providers::postgres {
namespace {

using dump::Column;
using dump::ColumnKind;
using dump::Json;
using dump::TableInfo;

// Type OIDs of pg_type (stable since PostgreSQL 7).
constexpr unsigned kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kFloat4 = 700, kFloat8 = 701,
                   kNumeric = 1700;

ColumnKind KindOf(const std::string& typname) {
  if (typname == "int2" || typname == "int4" || typname == "int8") return ColumnKind::kInteger;
  if (typname == "bool") return ColumnKind::kBoolean;
  if (typname == "float4" || typname == "float8" || typname == "numeric") return ColumnKind::kReal;
  return ColumnKind::kText;
}

class PgSession : public dump::SqlSession {
 public:
  PgSession(const std::string& url, const std::string& schema)
      : conn_(internal::OpenConnection(url, schema, {})), schema_(schema), tx_(*conn_) {}

  const char* dialect() const override { return "postgres"; }

  std::vector<TableInfo> Tables() override {
    std::vector<TableInfo> out;
    const std::string ns = conn_->quote(schema_);
    pqxx::result cols = tx_.exec(
        "SELECT c.relname, a.attname, t.typname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE n.nspname = " + ns + " AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY c.relname, a.attnum");
    for (const pqxx::row& r : cols) {
      const std::string table = r[0].as<std::string>();
      if (out.empty() || out.back().name != table) out.push_back(TableInfo{table, {}, {}});
      out.back().columns.push_back(Column{r[1].as<std::string>(), KindOf(r[2].as<std::string>())});
    }
    pqxx::result keys = tx_.exec(
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indisprimary AND n.nspname = " + ns +
        " ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)");
    for (const pqxx::row& r : keys) {
      for (TableInfo& t : out) {
        if (t.name == r[0].as<std::string>()) t.key.push_back(r[1].as<std::string>());
      }
    }
    return out;
  }

  void Query(const std::string& sql, const std::function<void(std::vector<Json>&)>& row) override {
    pqxx::result r = tx_.exec(sql);
    const auto n = static_cast<size_t>(r.columns());
    std::vector<unsigned> types(n);
    for (size_t i = 0; i < n; ++i) types[i] = static_cast<unsigned>(r.column_type(static_cast<pqxx::row::size_type>(i)));
    std::vector<Json> values(n);
    for (const pqxx::row& rr : r) {
      for (size_t i = 0; i < n; ++i) {
        const pqxx::field f = rr[static_cast<pqxx::row::size_type>(i)];
        if (f.is_null()) {
          values[i] = nullptr;
        } else if (types[i] == kInt8 || types[i] == kInt4 || types[i] == kInt2) {
          values[i] = f.as<int64_t>();
        } else if (types[i] == kFloat4 || types[i] == kFloat8 || types[i] == kNumeric) {
          values[i] = f.as<double>();
        } else if (types[i] == kBool) {
          values[i] = f.as<bool>();
        } else {
          values[i] = f.as<std::string>();
        }
      }
      row(values);
    }
  }

  int64_t Exec(const std::string& sql) override {
    return static_cast<int64_t>(tx_.exec(sql).affected_rows());
  }

  std::string Literal(const Json& v) override {
    if (std::optional<std::string> scalar = dump::ScalarLiteral(v, "TRUE", "FALSE")) return *scalar;
    return conn_->quote(v.get<std::string>());
  }

  std::string QuoteName(const std::string& ident) override { return conn_->quote_name(ident); }

  void BeginRead() override {
    tx_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    in_tx_ = true;
  }
  void BeginWrite() override {
    tx_.exec("BEGIN");
    in_tx_ = true;
  }
  void Commit() override {
    in_tx_ = false;
    tx_.exec("COMMIT");
  }
  void Rollback() noexcept override {
    if (!in_tx_) return;
    in_tx_ = false;
    try {
      tx_.exec("ROLLBACK");
    } catch (...) {
      // The connection is gone; so is the transaction.
    }
  }

  void AfterExplicitIds(const std::string& table, const std::string& column) override {
    tx_.exec("SELECT setval(s, m) FROM (SELECT pg_get_serial_sequence(" +
             conn_->quote(conn_->quote_name(schema_) + "." + conn_->quote_name(table)) + ", " +
             conn_->quote(column) + ") AS s, (SELECT MAX(" + conn_->quote_name(column) +
             ") FROM " + conn_->quote_name(table) + ") AS m) x WHERE s IS NOT NULL AND m IS NOT NULL");
  }

  Status ToStatus(const std::exception& e, const std::string& op) override {
    return StatusFromPgException(e, op);
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
  const std::string schema_;
  pqxx::nontransaction tx_;
  bool in_tx_ = false;
};

}  // namespace

Result<std::unique_ptr<dump::SqlSession>> PostgresProvider::OpenDumpSession() {
  try {
    return std::unique_ptr<dump::SqlSession>(new PgSession(url_, schema_));
  } catch (const std::exception& e) {
    return StatusFromPgException(e, "OpenDumpSession");
  }
}

}  // namespace duroxide::providers::postgres
