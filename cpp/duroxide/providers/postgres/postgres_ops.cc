// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: RunOps, the dialect half of the operations capability (provider_ops.h).
// The operations and their SQL live in ops_common.cc. Parameters travel as text and take
// their types from the statement (every one is compared with or stored into a typed column).
// Other processes are woken with the provider's NOTIFY payload, sent in the same transaction.
#include <string>
#include <vector>

#include "duroxide/providers/ops_common.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres {

namespace {

class PgOpsTx : public OpsTx {
 public:
  explicit PgOpsTx(pqxx::transaction_base& tx) : tx_(tx) {}
  std::vector<Row> Query(const char* sql, const std::vector<Param>& params) override {
    std::vector<std::string> text;
    text.reserve(params.size());
    for (const Param& p : params) {
      if (const auto* v = std::get_if<int64_t>(&p)) {
        text.push_back(std::to_string(*v));
      } else {
        text.push_back(std::get<std::string>(p));
      }
    }
    pqxx::result r = tx_.exec_params(sql, pqxx::prepare::make_dynamic_params(text));
    std::vector<Row> rows;
    for (const pqxx::row& row : r) {
      Row out;
      for (const pqxx::field& f : row) {
        out.push_back(f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str()));
      }
      rows.push_back(std::move(out));
    }
    return rows;
  }

 private:
  pqxx::transaction_base& tx_;
};

}  // namespace

Status PostgresProvider::RunOps(const char* op, bool write, const OpsBody& body) {
  OpsWake wake;
  Status st = Run(op, [&](pqxx::connection_base& conn) -> Status {
    wake = OpsWake();
    if (!write) {
      pqxx::read_transaction tx(conn);
      PgOpsTx ops(tx);
      return body(ops, &wake);
    }
    pqxx::work tx(conn);
    PgOpsTx ops(tx);
    Status done = body(ops, &wake);
    if (!done.ok()) return done;  // the work is rolled back when it goes out of scope
    std::string kinds;
    if (wake.orchestrator) kinds += "o";
    if (wake.worker) kinds += "w";
    if (!wake.instance.empty()) kinds += "s";
    if (!kinds.empty()) tx.exec_params("SELECT pg_notify($1, $2)", channel_, NotifyPayload(kinds));
    tx.commit();
    return Status::Ok();
  });
  return ops::WakeAfterOps(*this, st, wake);
}

}  // namespace duroxide::providers::postgres
