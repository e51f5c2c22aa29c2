// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: the messaging capability (messaging_store.h) on the tables of migration 3
// (dead_letters, topics, topic_log, subscriptions, client_replies). SQLite's single writer
// serialises publishers, so a topic's seq is allocated and committed in order for free.
// Messaging statements are prepared per call: they run only in turns that use messaging.
#include <SQLiteCpp/SQLiteCpp.h>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/messaging_util.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using internal::Batched;

namespace {

void BindText(SQLite::Statement& s, int i, const std::string& v, bool null_if_empty) {
  if (null_if_empty && v.empty()) s.bind(i);
  else s.bind(i, v);
}

std::string ColText(SQLite::Statement& s, int i) {
  return s.getColumn(i).isNull() ? std::string() : s.getColumn(i).getString();
}

// WHERE clause of a dead-letter filter; binds start at ?1.
std::string DeadLetterWhere(const DeadLetterFilter& f) {
  std::string w = " WHERE 1=1";
  if (f.instance) w += " AND instance_id = ?1";
  if (f.before_ms) w += " AND created_at < ?2";
  if (!f.ids.empty()) {
    w += " AND id IN (";
    for (size_t i = 0; i < f.ids.size(); ++i) w += (i ? "," : "") + std::to_string(f.ids[i]);
    w += ")";
  }
  return w;
}

void BindDeadLetterFilter(SQLite::Statement& s, const DeadLetterFilter& f) {
  if (f.instance) s.bind(1, *f.instance);
  if (f.before_ms) s.bind(2, *f.before_ms);
}

}  // namespace

int64_t SqliteProvider::PublishTx(const TopicPublish& p, int64_t now) {
  SQLite::Statement bump(*db_,
                         "INSERT INTO topics (topic, last_seq, created_at) VALUES (?1, 1, ?2) "
                         "ON CONFLICT (topic) DO UPDATE SET last_seq = last_seq + 1 "
                         "RETURNING last_seq");
  bump.bind(1, p.topic);
  bump.bind(2, now);
  bump.executeStep();
  const int64_t seq = bump.getColumn(0).getInt64();
  bump.reset();
  SQLite::Statement any(*db_, "SELECT 1 FROM subscriptions WHERE topic = ?1 LIMIT 1");
  any.bind(1, p.topic);
  if (!any.executeStep()) return seq;  // no subscriber: nothing to keep (retention 0)
  SQLite::Statement ins(*db_,
                        "INSERT INTO topic_log (topic, seq, data, meta, published_at) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)");
  ins.bind(1, p.topic);
  ins.bind(2, seq);
  ins.bind(3, p.data);
  BindText(ins, 4, p.meta, true);
  ins.bind(5, now);
  ins.exec();
  return seq;
}

void SqliteProvider::ApplyMessagingTx(const std::string& instance, const TurnCommit& commit,
                                      int64_t now) {
  const MessagingWrites& m = commit.messaging;
  for (const DeadLetter& d : m.dead_letters) {
    ScopedStatement s(Prepared("INSERT INTO dead_letters (instance_id, queue, data, meta, reason, "
                               "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    s->bind(1, d.instance);
    s->bind(2, d.queue);
    s->bind(3, d.data);
    BindText(s.get(), 4, d.meta, true);
    s->bind(5, d.reason);
    s->bind(6, now);
    s->exec();
  }
  for (const std::string& topic : m.subscribe) {
    ScopedStatement t(Prepared("INSERT INTO topics (topic, last_seq, created_at) VALUES (?1, 0, ?2) "
                               "ON CONFLICT (topic) DO NOTHING"));
    t->bind(1, topic);
    t->bind(2, now);
    t->exec();
    ScopedStatement s(Prepared("INSERT INTO subscriptions (topic, instance_id, cursor, created_at) "
                               "SELECT topic, ?2, last_seq, ?3 FROM topics WHERE topic = ?1 "
                               "ON CONFLICT (topic, instance_id) DO NOTHING"));
    s->bind(1, topic);
    s->bind(2, instance);
    s->bind(3, now);
    s->exec();
  }
  for (const std::string& topic : m.unsubscribe) {
    ScopedStatement s(Prepared("DELETE FROM subscriptions WHERE topic = ?1 AND instance_id = ?2"));
    s->bind(1, topic);
    s->bind(2, instance);
    s->exec();
  }
  if (m.unsubscribe_all || commit.status == ExecutionStatus::kCompleted ||
      commit.status == ExecutionStatus::kFailed) {
    ScopedStatement s(Prepared("DELETE FROM subscriptions WHERE instance_id = ?1"));
    s->bind(1, instance);
    s->exec();
  }
  for (const TopicPublish& p : m.publishes) PublishTx(p, now);
  for (const ClientReply& r : m.client_replies) {
    ScopedStatement s(Prepared("INSERT INTO client_replies (request_id, payload, created_at) "
                               "VALUES (?1, ?2, ?3) ON CONFLICT (request_id) DO NOTHING"));
    s->bind(1, r.request_id);
    s->bind(2, r.payload);
    s->bind(3, now);
    s->exec();
  }
}

Result<int64_t> SqliteProvider::PublishEvent(const TopicPublish& publish) {
  int64_t seq = 0;
  Status st = Batched(*group_, "PublishEvent", [&]() -> Status {
    seq = PublishTx(publish, NowMs());
    return Status::Ok();
  });
  if (!st.ok()) return st;
  topic_signal().Notify();
  return seq;
}

Result<int64_t> SqliteProvider::DeliverTopicEvents(size_t max_subscriptions, size_t max_entries) {
  {
    // Cheap read first: the idle case takes no write transaction.
    auto pending = Guarded("DeliverTopicEvents", [&]() -> Result<bool> {
      std::lock_guard<std::mutex> lock(mu_);
      SQLite::Statement s(*db_,
                          "SELECT 1 FROM subscriptions s JOIN topics t ON t.topic = s.topic "
                          "WHERE s.cursor < t.last_seq LIMIT 1");
      return s.executeStep();
    });
    if (!pending.ok()) return pending.status();
    if (!*pending) return int64_t{0};
  }
  int64_t delivered = 0;
  Status st = Batched(*group_, "DeliverTopicEvents", [&]() -> Status {
    delivered = 0;
    const int64_t now = NowMs();
    // Subscriptions of deleted instances (completion deletes its own in the ack).
    db_->exec(std::string("DELETE FROM subscriptions AS s WHERE ") + kEndedSubscriptionSql);
    struct Sub { std::string topic, instance; int64_t cursor; };
    std::vector<Sub> subs;
    {
      SQLite::Statement s(*db_,
                          "SELECT s.topic, s.instance_id, s.cursor FROM subscriptions s "
                          "JOIN topics t ON t.topic = s.topic WHERE s.cursor < t.last_seq "
                          "ORDER BY s.topic LIMIT ?1");
      s.bind(1, static_cast<int64_t>(max_subscriptions));
      while (s.executeStep()) subs.push_back({s.getColumn(0).getString(), s.getColumn(1).getString(),
                                              s.getColumn(2).getInt64()});
    }
    std::vector<std::string> touched;
    for (const Sub& sub : subs) {
      SQLite::Statement log(*db_,
                            "SELECT seq, data, meta FROM topic_log WHERE topic = ?1 AND seq > ?2 "
                            "ORDER BY seq LIMIT ?3");
      log.bind(1, sub.topic);
      log.bind(2, sub.cursor);
      log.bind(3, static_cast<int64_t>(max_entries));
      int64_t cursor = sub.cursor;
      while (log.executeStep()) {
        cursor = log.getColumn(0).getInt64();
        InsertOrchestratorItem(TopicDeliveryItem(sub.instance, sub.topic, cursor,
                                                 log.getColumn(1).getString(), ColText(log, 2)),
                               now, now);
        ++delivered;
      }
      if (cursor == sub.cursor) {
        // Entries skipped while nobody subscribed (retention 0): jump to the topic's end.
        SQLite::Statement end(*db_, "SELECT last_seq FROM topics WHERE topic = ?1");
        end.bind(1, sub.topic);
        if (end.executeStep()) cursor = end.getColumn(0).getInt64();
      }
      SQLite::Statement up(*db_,
                           "UPDATE subscriptions SET cursor = ?3 WHERE topic = ?1 AND "
                           "instance_id = ?2");
      up.bind(1, sub.topic);
      up.bind(2, sub.instance);
      up.bind(3, cursor);
      up.exec();
      if (touched.empty() || touched.back() != sub.topic) touched.push_back(sub.topic);
    }
    for (const std::string& topic : touched) {
      SQLite::Statement prune(*db_,
                              "DELETE FROM topic_log WHERE topic = ?1 AND seq <= "
                              "(SELECT COALESCE(MIN(cursor), 9223372036854775807) "
                              " FROM subscriptions WHERE topic = ?1)");
      prune.bind(1, topic);
      prune.exec();
    }
    return Status::Ok();
  });
  if (!st.ok()) return st;
  if (delivered > 0) orchestrator_signal().Notify();
  return delivered;
}

Result<std::optional<std::string>> SqliteProvider::TakeClientReply(const std::string& request_id) {
  std::optional<std::string> out;
  Status st = Batched(*group_, "TakeClientReply", [&]() -> Status {
    SQLite::Statement s(*db_, "DELETE FROM client_replies WHERE request_id = ?1 RETURNING payload");
    s.bind(1, request_id);
    if (s.executeStep()) out = s.getColumn(0).getString();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<DeadLetter>> SqliteProvider::ListDeadLetters(const DeadLetterFilter& filter) {
  return Guarded("ListDeadLetters", [&]() -> Result<std::vector<DeadLetter>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_,
                        "SELECT id, instance_id, queue, data, meta, reason, created_at "
                        "FROM dead_letters" + DeadLetterWhere(filter) + " ORDER BY id");
    BindDeadLetterFilter(s, filter);
    std::vector<DeadLetter> out;
    while (s.executeStep()) {
      out.push_back({s.getColumn(0).getInt64(), s.getColumn(1).getString(),
                     s.getColumn(2).getString(), s.getColumn(3).getString(), ColText(s, 4),
                     s.getColumn(5).getString(), s.getColumn(6).getInt64()});
    }
    return out;
  });
}

Status SqliteProvider::RedeliverDeadLetter(int64_t id) {
  Status st = Batched(*group_, "RedeliverDeadLetter", [&]() -> Status {
    SQLite::Statement s(*db_,
                        "DELETE FROM dead_letters WHERE id = ?1 "
                        "RETURNING instance_id, queue, data, meta");
    s.bind(1, id);
    if (!s.executeStep()) {
      return Status::NotFound("RedeliverDeadLetter", "no dead letter " + std::to_string(id));
    }
    DeadLetter d;
    d.instance = s.getColumn(0).getString();
    d.queue = s.getColumn(1).getString();
    d.data = s.getColumn(2).getString();
    d.meta = ColText(s, 3);
    s.reset();
    const int64_t now = NowMs();
    InsertOrchestratorItem(RedeliveryItem(d), now, now);
    return Status::Ok();
  });
  if (st.ok()) orchestrator_signal().Notify(1);
  return st;
}

Result<int64_t> SqliteProvider::PurgeDeadLetters(const DeadLetterFilter& filter) {
  int64_t n = 0;
  Status st = Batched(*group_, "PurgeDeadLetters", [&]() -> Status {
    SQLite::Statement s(*db_, "DELETE FROM dead_letters" + DeadLetterWhere(filter));
    BindDeadLetterFilter(s, filter);
    n = s.exec();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return n;
}

Result<std::vector<TopicInfo>> SqliteProvider::ListTopics() {
  return Guarded("ListTopics", [&]() -> Result<std::vector<TopicInfo>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement s(*db_, TopicInfoSelect() + " ORDER BY t.topic");
    std::vector<TopicInfo> out;
    while (s.executeStep()) out.push_back(TopicInfoFrom(internal::StatementRow(s)));
    return out;
  });
}

Result<std::vector<TopicSubscriber>> SqliteProvider::GetTopic(const std::string& topic,
                                                              TopicInfo* info) {
  return Guarded("GetTopic", [&]() -> Result<std::vector<TopicSubscriber>> {
    std::lock_guard<std::mutex> lock(mu_);
    SQLite::Statement t(*db_, TopicInfoSelect() + " WHERE t.topic = ?1");
    t.bind(1, topic);
    if (!t.executeStep()) return Status::NotFound("GetTopic", "topic '" + topic + "' not found");
    *info = TopicInfoFrom(internal::StatementRow(t));
    SQLite::Statement s(*db_,
                        "SELECT s.instance_id, s.cursor, s.created_at FROM subscriptions s "
                        "WHERE s.topic = ?1 AND NOT " + std::string(kEndedSubscriptionSql) +
                            " ORDER BY s.created_at, s.instance_id");
    s.bind(1, topic);
    std::vector<TopicSubscriber> out;
    while (s.executeStep()) {
      const int64_t cursor = s.getColumn(1).getInt64();
      out.push_back({s.getColumn(0).getString(), cursor, info->last_seq - cursor,
                     s.getColumn(2).getInt64()});
    }
    return out;
  });
}

}  // namespace duroxide::providers::sqlite
