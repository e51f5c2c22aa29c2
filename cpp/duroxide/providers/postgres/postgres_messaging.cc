// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: the messaging capability (messaging_store.h) on the tables of migration 3.
// Ordering: a publish takes its seq with an upsert on the topic's row and holds that row lock
// until its transaction commits, so a delivery that reads topics.last_seq never sees a seq
// whose entry is still uncommitted (concurrent publishers commit their seqs in order).
// Subscribing locks the same row, so a subscription's start point is exact.
// Delivery takes subscriptions FOR UPDATE SKIP LOCKED: runtimes in several processes deliver
// different subscriptions in parallel, each entry exactly once.
#include <pqxx/pqxx>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/messaging_util.h"
#include "duroxide/providers/postgres/postgres_internal.h"
#include "duroxide/providers/postgres/postgres_provider.h"

namespace duroxide::providers::postgres {

using internal::NullableText;

namespace {

const char* NullIfEmpty(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

std::string Text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }

std::string DeadLetterWhere(const DeadLetterFilter& f) {
  std::string w = " WHERE ($1::text IS NULL OR instance_id = $1) AND "
                  "($2::bigint IS NULL OR created_at < $2)";
  if (!f.ids.empty()) {
    w += " AND id IN (";
    for (size_t i = 0; i < f.ids.size(); ++i) w += (i ? "," : "") + std::to_string(f.ids[i]);
    w += ")";
  }
  return w;
}

std::optional<std::string> OptInt(const std::optional<int64_t>& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

void InsertQueueItem(pqxx::transaction_base& tx, const history::WorkItem& w, int64_t now) {
  tx.exec_params(
      "INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, attempt_count, "
      "created_at) VALUES ($1, $2, $3, $4, 0, $4)",
      w.instance, std::string(history::WorkItemKindName(w.kind)), history::EncodeWorkItem(w), now);
}

}  // namespace

int64_t PostgresProvider::PublishTx(pqxx::transaction_base& tx, const TopicPublish& p,
                                    int64_t now) {
  const int64_t seq =
      tx.exec_params1("INSERT INTO topics (topic, last_seq, created_at) VALUES ($1, 1, $2) "
                      "ON CONFLICT (topic) DO UPDATE SET last_seq = topics.last_seq + 1 "
                      "RETURNING last_seq",
                      p.topic, now)[0]
          .as<int64_t>();
  if (tx.exec_params("SELECT 1 FROM subscriptions WHERE topic = $1 LIMIT 1", p.topic).empty()) {
    return seq;  // no subscriber: nothing to keep (retention 0)
  }
  tx.exec_params("INSERT INTO topic_log (topic, seq, data, meta, published_at) "
                 "VALUES ($1, $2, $3, $4, $5)",
                 p.topic, seq, p.data, NullIfEmpty(p.meta), now);
  return seq;
}

void PostgresProvider::ApplyMessagingTx(pqxx::transaction_base& tx, const std::string& instance,
                                        const TurnCommit& commit, int64_t now) {
  const MessagingWrites& m = commit.messaging;
  for (const DeadLetter& d : m.dead_letters) {
    tx.exec_params("INSERT INTO dead_letters (instance_id, queue, data, meta, reason, created_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6)",
                   d.instance, d.queue, d.data, NullIfEmpty(d.meta), d.reason, now);
  }
  for (const std::string& topic : m.subscribe) {
    // The upsert locks the topic row: no publish can be half-way while the cursor is read.
    tx.exec_params("WITH t AS (INSERT INTO topics (topic, last_seq, created_at) "
                   "  VALUES ($1, 0, $3) ON CONFLICT (topic) DO UPDATE SET last_seq = "
                   "  topics.last_seq RETURNING last_seq) "
                   "INSERT INTO subscriptions (topic, instance_id, cursor, created_at) "
                   "SELECT $1, $2, t.last_seq, $3 FROM t "
                   "ON CONFLICT (topic, instance_id) DO NOTHING",
                   topic, instance, now);
  }
  for (const std::string& topic : m.unsubscribe) {
    tx.exec_params("DELETE FROM subscriptions WHERE topic = $1 AND instance_id = $2", topic,
                   instance);
  }
  if (m.unsubscribe_all) {
    tx.exec_params("DELETE FROM subscriptions WHERE instance_id = $1", instance);
  }
  for (const TopicPublish& p : m.publishes) PublishTx(tx, p, now);
  for (const ClientReply& r : m.client_replies) {
    tx.exec_params("INSERT INTO client_replies (request_id, payload, created_at) "
                   "VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING",
                   r.request_id, r.payload, now);
  }
}

Result<int64_t> PostgresProvider::PublishEvent(const TopicPublish& publish) {
  auto r = Run("PublishEvent", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    pqxx::work tx(conn);
    const int64_t seq = PublishTx(tx, publish, NowMs());
    // Wakes the topic delivery step of the runtimes of other processes ('t'); a publish
    // makes no orchestrator work visible until it is delivered.
    tx.exec_prepared("dx_notify", channel_, NotifyPayload("t"));
    tx.commit();
    return seq;
  });
  if (r.ok()) topic_signal().Notify();
  return r;
}

Result<int64_t> PostgresProvider::DeliverTopicEvents(size_t max_subscriptions,
                                                     size_t max_entries) {
  auto r = Run("DeliverTopicEvents", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    {
      // Cheap read first: the idle case opens no write transaction.
      pqxx::nontransaction probe(conn);
      if (probe.exec("SELECT 1 FROM subscriptions s JOIN topics t ON t.topic = s.topic "
                     "WHERE s.cursor < t.last_seq LIMIT 1").empty()) {
        return int64_t{0};
      }
    }
    pqxx::work tx(conn);
    const int64_t now = NowMs();
    // Subscriptions of ended instances are never delivered to (the contract lets the delivery
    // step drop them rather than every completing turn).
    tx.exec(std::string("DELETE FROM subscriptions s WHERE ") + kEndedSubscriptionSql);
    pqxx::result subs = tx.exec_params(
        "SELECT s.topic, s.instance_id, s.cursor, t.last_seq FROM subscriptions s "
        "JOIN topics t ON t.topic = s.topic WHERE s.cursor < t.last_seq "
        "ORDER BY s.topic, s.instance_id LIMIT $1 FOR UPDATE OF s SKIP LOCKED",
        static_cast<int64_t>(max_subscriptions));
    int64_t delivered = 0;
    std::vector<std::string> touched;
    for (const pqxx::row& sub : subs) {
      const std::string topic = sub[0].as<std::string>();
      const std::string instance = sub[1].as<std::string>();
      const int64_t from = sub[2].as<int64_t>();
      const int64_t last = sub[3].as<int64_t>();
      int64_t cursor = from;
      for (const pqxx::row& e : tx.exec_params(
               "SELECT seq, data, meta FROM topic_log WHERE topic = $1 AND seq > $2 AND "
               "seq <= $3 ORDER BY seq LIMIT $4",
               topic, from, last, static_cast<int64_t>(max_entries))) {
        cursor = e[0].as<int64_t>();
        InsertQueueItem(tx, TopicDeliveryItem(instance, topic, cursor, e[1].as<std::string>(),
                                              Text(e[2])),
                        now);
        ++delivered;
      }
      // Nothing logged after the cursor: the seqs were skipped (no subscriber then).
      if (cursor == from) cursor = last;
      tx.exec_params("UPDATE subscriptions SET cursor = $3 WHERE topic = $1 AND instance_id = $2",
                     topic, instance, cursor);
      if (touched.empty() || touched.back() != topic) touched.push_back(topic);
    }
    for (const std::string& topic : touched) {
      tx.exec_params("DELETE FROM topic_log WHERE topic = $1 AND seq <= (SELECT "
                     "COALESCE(MIN(cursor), 9223372036854775807) FROM subscriptions "
                     "WHERE topic = $1)",
                     topic);
    }
    if (delivered > 0) tx.exec_prepared("dx_notify", channel_, NotifyPayload("o"));
    tx.commit();
    return delivered;
  });
  if (r.ok() && *r > 0) orchestrator_signal().Notify();
  return r;
}

Result<std::optional<std::string>> PostgresProvider::TakeClientReply(
    const std::string& request_id) {
  using Out = std::optional<std::string>;
  return Run("TakeClientReply", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params(
        "DELETE FROM client_replies WHERE request_id = $1 RETURNING payload", request_id);
    if (r.empty()) return Out();
    return Out(r[0][0].as<std::string>());
  });
}

Result<std::vector<DeadLetter>> PostgresProvider::ListDeadLetters(const DeadLetterFilter& filter) {
  return Run("ListDeadLetters", [&](pqxx::connection_base& conn) -> Result<std::vector<DeadLetter>> {
    pqxx::nontransaction tx(conn);
    std::vector<DeadLetter> out;
    for (const pqxx::row& row : tx.exec_params(
             "SELECT id, instance_id, queue, data, meta, reason, created_at FROM dead_letters" +
                 DeadLetterWhere(filter) + " ORDER BY id",
             NullableText(filter.instance), NullableText(OptInt(filter.before_ms)))) {
      out.push_back({row[0].as<int64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     row[3].as<std::string>(), Text(row[4]), row[5].as<std::string>(),
                     row[6].as<int64_t>()});
    }
    return out;
  });
}

Status PostgresProvider::RedeliverDeadLetter(int64_t id) {
  const char* op = "RedeliverDeadLetter";
  Status st = Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::work tx(conn);
    pqxx::result r = tx.exec_params(
        "DELETE FROM dead_letters WHERE id = $1 RETURNING instance_id, queue, data, meta", id);
    if (r.empty()) return Status::NotFound(op, "no dead letter " + std::to_string(id));
    DeadLetter d;
    d.instance = r[0][0].as<std::string>();
    d.queue = r[0][1].as<std::string>();
    d.data = r[0][2].as<std::string>();
    d.meta = Text(r[0][3]);
    InsertQueueItem(tx, RedeliveryItem(d), NowMs());
    tx.exec_prepared("dx_notify", channel_, NotifyPayload("o"));
    tx.commit();
    return Status::Ok();
  });
  if (st.ok()) orchestrator_signal().Notify();
  return st;
}

Result<int64_t> PostgresProvider::PurgeDeadLetters(const DeadLetterFilter& filter) {
  return Run("PurgeDeadLetters", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_params("DELETE FROM dead_letters" + DeadLetterWhere(filter),
                                    NullableText(filter.instance),
                                    NullableText(OptInt(filter.before_ms)));
    return static_cast<int64_t>(r.affected_rows());
  });
}

Result<std::vector<TopicInfo>> PostgresProvider::ListTopics() {
  return Run("ListTopics", [&](pqxx::connection_base& conn) -> Result<std::vector<TopicInfo>> {
    pqxx::nontransaction tx(conn);
    std::vector<TopicInfo> out;
    for (const pqxx::row& row : tx.exec(TopicInfoSelect() + " ORDER BY t.topic")) {
      out.push_back(TopicInfoFrom(internal::PgRow(row)));
    }
    return out;
  });
}

Result<std::vector<TopicSubscriber>> PostgresProvider::GetTopic(const std::string& topic,
                                                                TopicInfo* info) {
  using Out = std::vector<TopicSubscriber>;
  return Run("GetTopic", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result t = tx.exec_params(TopicInfoSelect() + " WHERE t.topic = $1", topic);
    if (t.empty()) return Status::NotFound("GetTopic", "topic '" + topic + "' not found");
    *info = TopicInfoFrom(internal::PgRow(t[0]));
    Out out;
    for (const pqxx::row& row : tx.exec_params(
             "SELECT s.instance_id, s.cursor, s.created_at FROM subscriptions s WHERE s.topic = $1 "
             "AND NOT " + std::string(kEndedSubscriptionSql) + " ORDER BY s.created_at, s.instance_id",
             topic)) {
      const int64_t cursor = row[1].as<int64_t>();
      out.push_back({row[0].as<std::string>(), cursor, info->last_seq - cursor,
                     row[2].as<int64_t>()});
    }
    return out;
  });
}

}  // namespace duroxide::providers::postgres
