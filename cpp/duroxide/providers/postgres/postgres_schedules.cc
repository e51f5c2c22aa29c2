// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: the schedule backend (schedule_store.h). Each schedule operation is one
// pqxx::work transaction on a pooled connection; the firing claim takes the schedule row with
// FOR UPDATE SKIP LOCKED, so runtimes firing at the same instant never wait for each other,
// and the start goes through dx_start_orchestration (the advisory-locked duplicate check of
// StartOrchestration), its notification delivered at commit.
#include <string>
#include <variant>
#include <vector>

#include <pqxx/prepared_statement>
#include <pqxx/transaction>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/postgres/postgres_internal.h"
#include "duroxide/providers/postgres/postgres_schema.h"

namespace duroxide::providers::postgres {

namespace {

// Parameters as text (PostgreSQL infers each type from where it is used); nullptr = NULL.
class PgParams {
 public:
  explicit PgParams(const std::vector<SqlParam>& params) {
    texts_.reserve(params.size());
    for (const SqlParam& p : params) {
      if (const auto* v = std::get_if<int64_t>(&p)) {
        texts_.emplace_back(std::to_string(*v));
      } else if (const auto* t = std::get_if<std::string>(&p)) {
        texts_.emplace_back(*t);
      } else {
        texts_.emplace_back(std::nullopt);
      }
    }
    for (const auto& t : texts_) pointers_.push_back(t ? t->c_str() : nullptr);
  }
  auto dynamic() const { return pqxx::prepare::make_dynamic_params(pointers_); }

 private:
  std::vector<std::optional<std::string>> texts_;
  std::vector<const char*> pointers_;
};

}  // namespace

class PostgresProvider::ScheduleTxImpl : public ScheduleTx {
 public:
  ScheduleTxImpl(PostgresProvider* p, pqxx::transaction_base* tx) : p_(p), tx_(tx) {}
  std::vector<SqlRow> Query(const std::string& sql, const std::vector<SqlParam>& params) override {
    PgParams pp(params);
    std::vector<SqlRow> rows;
    for (const pqxx::row& r : tx_->exec_params(sql, pp.dynamic())) {
      SqlRow row;
      for (const pqxx::field& f : r) {
        row.push_back(f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str()));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  int64_t Exec(const std::string& sql, const std::vector<SqlParam>& params) override {
    PgParams pp(params);
    return static_cast<int64_t>(tx_->exec_params(sql, pp.dynamic()).affected_rows());
  }
  bool InsertStart(const history::WorkItem& start) override {
    const bool inserted =
        tx_->exec_prepared("dx_start", start.instance, history::EncodeWorkItem(start), NowMs(),
                           p_->lock_space_, p_->channel_, p_->NotifyPayload("o"))[0][0]
            .as<bool>();
    enqueued_ = enqueued_ || inserted;
    return inserted;
  }
  void InsertOrchestratorMessage(const history::WorkItem& item) override {
    const int64_t now = NowMs();
    tx_->exec_prepared("dx_enqueue_orchestrator", item.instance,
                       std::string(history::WorkItemKindName(item.kind)),
                       history::EncodeWorkItem(item), now, now, p_->channel_,
                       p_->NotifyPayload("o"));
    enqueued_ = true;
  }
  const char* ClaimSuffix(bool skip_locked) const override {
    return skip_locked ? " FOR UPDATE SKIP LOCKED" : " FOR UPDATE";
  }
  bool TryLock(const std::string& key) override {
    const auto lock = static_cast<int64_t>(internal::Fnv1a64(p_->schema_ + "\x1f" + key));
    return tx_->exec_params("SELECT pg_try_advisory_xact_lock($1)", lock)[0][0].as<bool>();
  }
  void AnnounceChange() override {
    tx_->exec_prepared("dx_notify", p_->channel_, p_->NotifyPayload("c"));
  }
  bool enqueued() const { return enqueued_; }

 private:
  PostgresProvider* p_;
  pqxx::transaction_base* tx_;
  bool enqueued_ = false;
};

bool PostgresProvider::ClaimLimitedTx(pqxx::transaction_base& tx, int64_t row_id,
                                      const std::string& limit, const std::string& key,
                                      const std::string& token, int64_t until, int64_t now,
                                      std::string* work_item, int64_t* attempt_count) {
  ScheduleTxImpl impl(this, &tx);
  if (!LimitAdmits(impl, limit, key, now)) return false;
  pqxx::result r = tx.exec_params(
      "UPDATE worker_queue SET lock_token = $1, locked_until = $2, "
      "  attempt_count = attempt_count + 1 WHERE id = $3 RETURNING work_item, attempt_count",
      token, until, row_id);
  if (r.empty()) return false;
  *work_item = r[0][0].as<std::string>();
  *attempt_count = r[0][1].as<int64_t>();
  ConsumeLimitToken(impl, limit, key, now);
  return true;
}

Status PostgresProvider::RunScheduleTx(const char* op,
                                       const std::function<Status(ScheduleTx&)>& body) {
  bool enqueued = false;
  Status st = Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::work tx(conn);
    ScheduleTxImpl impl(this, &tx);
    Status s = body(impl);
    if (!s.ok()) return s;  // rolled back when tx goes out of scope
    tx.commit();
    enqueued = impl.enqueued();
    return s;
  });
  if (st.ok() && enqueued) orchestrator_signal().Notify();
  return st;
}

}  // namespace duroxide::providers::postgres
