// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: RunOps, the dialect half of the operations capability (provider_ops.h).
// The operations themselves and their SQL live in ops_common.cc; `$n` placeholders become
// SQLite's `?n` (NumberedPlaceholders) so parameters bind by number. Writes run in
// BEGIN IMMEDIATE under mu_ like the management writes (sqlite_management.cc).
#include <string>
#include <variant>
#include <vector>

#include "duroxide/providers/ops_common.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

namespace {

class SqliteOpsTx : public OpsTx {
 public:
  explicit SqliteOpsTx(SQLite::Database& db) : db_(db) {}
  std::vector<Row> Query(const char* sql, const std::vector<Param>& params) override {
    SQLite::Statement s(db_, NumberedPlaceholders(sql));
    for (size_t i = 0; i < params.size(); ++i) {
      // Each value binds as its own type (an INTEGER or a TEXT value).
      std::visit([&](const auto& v) { s.bind(static_cast<int>(i) + 1, v); }, params[i]);
    }
    std::vector<Row> rows;
    while (s.executeStep()) {
      Row row;
      for (int c = 0; c < s.getColumnCount(); ++c) row.push_back(internal::OptionalText(s.getColumn(c)));
      rows.push_back(std::move(row));
    }
    return rows;
  }

 private:
  SQLite::Database& db_;
};

}  // namespace

Status SqliteProvider::RunOps(const char* op, bool write, const OpsBody& body) {
  OpsWake wake;
  SqliteOpsTx tx(*db_);
  Status st = write ? WriteTx(op, [&] { return body(tx, &wake); })
                    : Guarded(op, [&]() -> Status {
                        std::lock_guard<std::mutex> lock(mu_);
                        return body(tx, &wake);
                      });
  return ops::WakeAfterOps(*this, st, wake);
}

}  // namespace duroxide::providers::sqlite
