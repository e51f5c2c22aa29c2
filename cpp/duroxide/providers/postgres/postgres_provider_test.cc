// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Runs the provider conformance suites (provider_conformance.cc, provider_admin_conformance.cc)
// against PostgreSQL, each test in a fresh schema, plus tests of what only PostgreSQL has:
// schemas, migrations under concurrency, several providers (as in several processes) on one
// schema, LISTEN/NOTIFY, lost connections, and the SQLSTATE classifier.
//
// The server: DATABASE_URL if set; otherwise main() starts a throwaway cluster
// (postgres_test_server.h) and removes it at exit. If neither works the binary fails: it never
// skips silently.
#include "duroxide/providers/postgres/postgres_provider.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/pqxx>

#include "duroxide/common/clock.h"
#include "duroxide/providers/postgres/pg_errors.h"
#include "duroxide/providers/postgres/postgres_schema.h"
#include "duroxide/providers/postgres/postgres_test_server.h"
#include "duroxide/providers/testing/provider_conformance.h"
#include "duroxide/providers/testing/provider_store_test_util.h"

namespace duroxide::providers::postgres {
namespace {

using testing::ProviderConformance;
using testing::ProviderFactory;
using testing::ProviderFactoryName;
using testing::FirstTurn;
using testing::StartItem;

std::unique_ptr<PostgresProvider> MustConnect(const std::string& schema,
                                              const PostgresOptions& options = {}) {
  auto r = PostgresProvider::ConnectWithSchema(TheServer().url, schema, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

void CorruptHistory(Provider* provider, const std::string& instance) {
  auto* pg = dynamic_cast<PostgresProvider*>(provider);
  ASSERT_NE(pg, nullptr);
  std::string quoted = "'";
  for (char c : instance) {
    quoted += c;
    if (c == '\'') quoted += '\'';
  }
  quoted += "'";
  const Status st = pg->TEST_ExecuteSql(
      "UPDATE history SET event_data = '{not json' WHERE instance_id = " + quoted);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

ProviderFactory SchemaFactory() {
  return {"Schema",
          []() -> std::unique_ptr<Provider> { return MustConnect(NewSchema()); },
          CorruptHistory};
}

INSTANTIATE_TEST_SUITE_P(Postgres, ProviderConformance, ::testing::Values(SchemaFactory()),
                         ProviderFactoryName());

// ---- helpers -------------------------------------------------------------------------------

// Polls `cond` for up to `ms`.
template <typename F>
bool Eventually(F cond, int64_t ms) {
  const int64_t deadline = NowMs() + ms;
  while (NowMs() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// ---- error classification (no server needed) -----------------------------------------------

TEST(PgStatusTest, ClassifiesSqlStates) {
  auto code = [](const char* s) { return StatusFromSqlState(s, "op", "m").code(); };
  EXPECT_EQ(code("40001"), StatusCode::kAborted);  // serialization_failure
  EXPECT_EQ(code("40P01"), StatusCode::kAborted);  // deadlock_detected
  EXPECT_EQ(code("40003"), StatusCode::kAborted);  // statement_completion_unknown
  EXPECT_EQ(code("23505"), StatusCode::kAlreadyExists);
  EXPECT_EQ(code("23503"), StatusCode::kFailedPrecondition);  // foreign_key_violation
  EXPECT_EQ(code("23502"), StatusCode::kFailedPrecondition);  // not_null_violation
  EXPECT_EQ(code("23514"), StatusCode::kFailedPrecondition);  // check_violation
  EXPECT_EQ(code("08006"), StatusCode::kUnavailable);         // connection_failure
  EXPECT_EQ(code("08001"), StatusCode::kUnavailable);
  EXPECT_EQ(code("57P01"), StatusCode::kUnavailable);  // admin_shutdown
  EXPECT_EQ(code("57P02"), StatusCode::kUnavailable);  // crash_shutdown
  EXPECT_EQ(code("57P03"), StatusCode::kUnavailable);  // cannot_connect_now
  EXPECT_EQ(code("53300"), StatusCode::kUnavailable);  // too_many_connections
  EXPECT_EQ(code("55P03"), StatusCode::kUnavailable);  // lock_not_available
  EXPECT_EQ(code("0A000"), StatusCode::kUnavailable);  // cached plan must not change type
  EXPECT_EQ(code("57014"), StatusCode::kDeadlineExceeded);  // query_canceled
  EXPECT_EQ(code("28P01"), StatusCode::kFailedPrecondition);  // invalid_password
  EXPECT_EQ(code("3D000"), StatusCode::kFailedPrecondition);  // invalid_catalog_name
  EXPECT_EQ(code("22P02"), StatusCode::kInvalidArgument);     // invalid_text_representation
  EXPECT_EQ(code("XX001"), StatusCode::kDataLoss);
  EXPECT_EQ(code("XX002"), StatusCode::kDataLoss);
  EXPECT_EQ(code("XX000"), StatusCode::kInternal);
  EXPECT_EQ(code("42601"), StatusCode::kInternal);  // syntax_error
  EXPECT_EQ(code("42P01"), StatusCode::kInternal);  // undefined_table
  EXPECT_EQ(code(""), StatusCode::kInternal);
  EXPECT_EQ(code("4"), StatusCode::kInternal);
  const Status st = StatusFromSqlState("40P01", "AckOrchestrationItem", "deadlock detected");
  EXPECT_EQ(st.operation(), "AckOrchestrationItem");
  EXPECT_NE(st.message().find("deadlock detected"), std::string::npos);
  EXPECT_NE(st.message().find("40P01"), std::string::npos);
  EXPECT_TRUE(st.retryable());
  EXPECT_FALSE(StatusFromSqlState("23505", "op", "dup").retryable());
}

TEST(PgStatusTest, ClassifiesPqxxExceptions) {
  EXPECT_EQ(StatusFromPgException(pqxx::broken_connection("gone"), "op").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromPgException(pqxx::in_doubt_error("?"), "op").code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(StatusFromPgException(pqxx::serialization_failure("s"), "op").code(),
            StatusCode::kAborted);
  EXPECT_EQ(StatusFromPgException(pqxx::deadlock_detected("d"), "op").code(),
            StatusCode::kAborted);
  EXPECT_EQ(StatusFromPgException(pqxx::unique_violation("u", "q", "23505"), "op").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromPgException(pqxx::sql_error("x", "q", "57P01"), "op").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromPgException(std::runtime_error("other"), "op").code(),
            StatusCode::kInternal);
  EXPECT_TRUE(IsConnectionLost(pqxx::broken_connection("gone")));
  EXPECT_TRUE(IsConnectionLost(pqxx::sql_error("x", "q", "57P01")));
  EXPECT_TRUE(IsConnectionLost(pqxx::sql_error("x", "q", "08006")));
  EXPECT_FALSE(IsConnectionLost(pqxx::sql_error("x", "q", "23505")));
  EXPECT_FALSE(IsConnectionLost(std::runtime_error("other")));
}

// dx_ack_orchestration is written once (postgres_ack_sql.cc) and each migration's text is
// generated from it: the generated text must stay byte for byte what the release shipped
// (Fnv1a64 of the SQL as migrations 2 and 7 shipped it).
TEST(PgSchemaTest, ReleasedMigrationTextIsUnchanged) {
  EXPECT_EQ(internal::Fnv1a64(internal::AckOrchestrationSql(internal::AckRelease::kV2)),
            12521006927891819366ull);
  EXPECT_EQ(internal::Fnv1a64(internal::AckOrchestrationSql(internal::AckRelease::kV7)),
            17397637862368501804ull);
  EXPECT_EQ(internal::Fnv1a64(internal::Migration7Sql()), 12418437753773882977ull);
}

TEST(PgSchemaNameTest, ValidatesNames) {
  EXPECT_TRUE(IsValidSchemaName("public"));
  EXPECT_TRUE(IsValidSchemaName("_t1"));
  EXPECT_TRUE(IsValidSchemaName("Tenant_42"));
  EXPECT_TRUE(IsValidSchemaName(std::string(63, 'a')));
  EXPECT_FALSE(IsValidSchemaName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidSchemaName(""));
  EXPECT_FALSE(IsValidSchemaName("1abc"));
  EXPECT_FALSE(IsValidSchemaName("a-b"));
  EXPECT_FALSE(IsValidSchemaName("a b"));
  EXPECT_FALSE(IsValidSchemaName("x\"; DROP SCHEMA public; --"));
  EXPECT_FALSE(IsValidSchemaName("caf\xc3\xa9"));
}

// ---- PostgreSQL-specific behaviour ---------------------------------------------------------

TEST(PostgresProviderTest, InvalidSchemaIsRejectedBeforeConnecting) {
  auto r = PostgresProvider::ConnectWithSchema(TheServer().url, "bad;name");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(PostgresProviderTest, UnreachableServerIsUnavailable) {
  const int port = FreePort();
  auto r = PostgresProvider::Connect("postgresql://postgres@127.0.0.1:" + std::to_string(port) +
                                     "/postgres?connect_timeout=2");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

TEST(PostgresProviderTest, SchemaIsCreatedAndMigrationsAreRecorded) {
  const std::string schema = NewSchema("mig");
  auto p = MustConnect(schema);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->schema(), schema);
  EXPECT_EQ(p->name(), "postgres");
  pqxx::connection conn(TheServer().url);
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec("SELECT MAX(version) FROM " + conn.quote_name(schema) +
                    "._duroxide_migrations")[0][0]
                .as<int64_t>(),
            internal::LatestSchemaVersion());
  // Reconnecting applies nothing twice.
  auto again = MustConnect(schema);
  ASSERT_TRUE(again);
  // Every migration recorded once (version numbers may have gaps).
  EXPECT_EQ(tx.exec("SELECT COUNT(*) - COUNT(DISTINCT version) FROM " +
                    conn.quote_name(schema) + "._duroxide_migrations")[0][0]
                .as<int64_t>(),
            0);
}

// A schema whose recorded versions have a gap (migration 3 missing below the recorded
// maximum) gets the missing migration on the next connect.
TEST(PostgresProviderTest, MissingMigrationBelowTheRecordedMaximumIsApplied) {
  const std::string schema = NewSchema("gap");
  ASSERT_TRUE(MustConnect(schema));
  pqxx::connection conn(TheServer().url);
  const std::string q = conn.quote_name(schema);
  {
    pqxx::work tx(conn);
    for (const char* table : {"dead_letters", "topics", "topic_log", "subscriptions",
                              "client_replies"}) {
      tx.exec("DROP TABLE " + q + "." + table);
    }
    tx.exec("DELETE FROM " + q + "._duroxide_migrations WHERE version = 3");
    tx.commit();
  }
  auto p = MustConnect(schema);
  ASSERT_TRUE(p);
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec("SELECT COUNT(*) FROM " + q + "._duroxide_migrations WHERE version = 3")[0][0]
                .as<int64_t>(),
            1);
  EXPECT_EQ(tx.exec_params("SELECT COUNT(*) FROM information_schema.tables "
                           "WHERE table_schema = $1 AND table_name IN ('dead_letters', "
                           "'topics', 'topic_log', 'subscriptions', 'client_replies')",
                           schema)[0][0]
                .as<int64_t>(),
            5);
  EXPECT_TRUE(p->messaging()->ListTopics().ok());
}

TEST(PostgresProviderTest, MixedCaseSchemaNameIsQuoted) {
  const std::string schema = NewSchema("MiXed");
  auto p = MustConnect(schema);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->StartOrchestration(StartItem("a")).ok());
  pqxx::connection conn(TheServer().url);
  pqxx::nontransaction tx(conn);
  EXPECT_EQ(tx.exec("SELECT COUNT(*) FROM " + conn.quote_name(schema) + ".orchestrator_queue")[0]
                [0]
                    .as<int64_t>(),
            1);
}

TEST(PostgresProviderTest, ConcurrentConnectsToANewSchemaMigrateOnce) {
  const std::string schema = NewSchema("race");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto r = PostgresProvider::ConnectWithSchema(TheServer().url, schema);
      if (!r.ok()) {
        ADD_FAILURE() << r.status().ToString();
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  pqxx::connection conn(TheServer().url);
  pqxx::nontransaction tx(conn);
  // Every migration recorded once (version numbers may have gaps).
  EXPECT_EQ(tx.exec("SELECT COUNT(*) - COUNT(DISTINCT version) FROM " +
                    conn.quote_name(schema) + "._duroxide_migrations")[0][0]
                .as<int64_t>(),
            0);
}

TEST(PostgresProviderTest, NewerSchemaVersionIsRejected) {
  const std::string schema = NewSchema("newer");
  {
    auto p = MustConnect(schema);
    ASSERT_TRUE(p);
    ASSERT_TRUE(
        p->TEST_ExecuteSql("INSERT INTO _duroxide_migrations VALUES (999, 'future', 0)").ok());
  }
  auto r = PostgresProvider::ConnectWithSchema(TheServer().url, schema);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
}

// A store of version 11 (the aggregating fetch of migration 9) gets migration 12's fetch, which
// walks the claim rank first, on its next connect; it then fetches ready work behind a window
// of messages that are not visible yet (the walk sees only timers, the aggregate finds the
// start) and a backlog in claim order.
TEST(PostgresProviderTest, StoreOfVersion11UpgradesToTheRankWalkingFetch) {
  const std::string schema = NewSchema("v11");
  const std::string m9 = internal::Migration9Sql();
  const std::string v9_fetch =
      m9.substr(m9.find("CREATE OR REPLACE FUNCTION dx_fetch_orchestrations("));
  const std::string source = "SELECT prosrc FROM pg_proc WHERE proname = 'dx_fetch_orchestrations' "
                             "AND pronamespace = current_schema()::regnamespace";
  {
    auto p = MustConnect(schema);
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->TEST_ExecuteSql(v9_fetch).ok());
    ASSERT_TRUE(p->TEST_ExecuteSql("DELETE FROM _duroxide_migrations WHERE version = 12").ok());
  }
  pqxx::connection conn(TheServer().url);
  pqxx::nontransaction tx(conn);
  tx.exec("SET search_path TO " + conn.quote_name(schema));
  ASSERT_EQ(tx.exec(source)[0][0].as<std::string>().find("v_tried"), std::string::npos);
  auto p = MustConnect(schema);
  ASSERT_TRUE(p);
  EXPECT_NE(tx.exec(source)[0][0].as<std::string>().find("v_tried"), std::string::npos);
  for (int i = 0; i < 80; ++i) {  // more than the walk's window (4 * 8 + 16 rows)
    const std::string later = "later-" + std::to_string(i);
    ASSERT_TRUE(p->EnqueueOrchestratorMessage(StartItem(later), 3600000).ok());
  }
  ASSERT_TRUE(p->StartOrchestration(StartItem("ready")).ok());
  auto items = p->FetchOrchestrationItems(8, 30000, nullptr);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(items->front().instance, "ready");
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(p->StartOrchestration(StartItem("b-" + std::to_string(i))).ok());
  }
  items = p->FetchOrchestrationItems(8, 30000, nullptr);
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  std::vector<std::string> got;
  for (const OrchestrationItem& item : *items) got.push_back(item.instance);
  EXPECT_EQ(got,
            (std::vector<std::string>{"b-0", "b-1", "b-2", "b-3", "b-4", "b-5", "b-6", "b-7"}));
}

TEST(PostgresProviderTest, SchemasAreIsolated) {
  auto a = MustConnect(NewSchema("iso"));
  auto b = MustConnect(NewSchema("iso"));
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->StartOrchestration(StartItem("x")).ok());
  EXPECT_TRUE(a->HasPendingStart("x").value());
  EXPECT_FALSE(b->HasPendingStart("x").value());
  ASSERT_TRUE(b->StartOrchestration(StartItem("x")).ok());  // same id, other schema
  auto item = a->FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value());
  ASSERT_TRUE(a->AckOrchestrationItem((*item)->lock_token, FirstTurn()).ok());
  EXPECT_TRUE(a->GetInstance("x")->has_value());
  EXPECT_FALSE(b->GetInstance("x")->has_value());
  EXPECT_EQ(a->ListInstances()->size(), 1u);
  EXPECT_TRUE(b->ListInstances()->empty());
}

TEST(PostgresProviderTest, TwoProvidersOnOneSchemaSeeEachOthersWork) {
  const std::string schema = NewSchema("shared");
  auto a = MustConnect(schema);
  auto b = MustConnect(schema);
  ASSERT_TRUE(a && b);
  testing::ExpectProvidersShareOneStore(*a, *b);
}

TEST(PostgresProviderTest, ConcurrentStartsOfOneInstanceQueueOneStart) {
  const std::string schema = NewSchema("starts");
  std::vector<std::unique_ptr<PostgresProvider>> providers;
  for (int i = 0; i < 3; ++i) providers.push_back(MustConnect(schema));
  for (auto& p : providers) ASSERT_TRUE(p);
  for (int round = 0; round < 10; ++round) {
    const std::string id = "dup" + std::to_string(round);
    std::atomic<int> ok{0}, exists{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&, t] {
        const Status st = providers[t % providers.size()]->StartOrchestration(StartItem(id));
        if (st.ok()) ++ok;
        if (st.code() == StatusCode::kAlreadyExists) ++exists;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1) << id;
    EXPECT_EQ(exists.load(), 5) << id;
  }
}

TEST(PostgresProviderTest, ProvidersOnOneSchemaNeverShareALockedInstance) {
  const std::string schema = NewSchema("contended");
  std::vector<std::unique_ptr<PostgresProvider>> providers;
  for (int i = 0; i < 3; ++i) providers.push_back(MustConnect(schema));
  for (auto& p : providers) ASSERT_TRUE(p);
  testing::ExpectNoInstanceFetchedTwice({providers[0].get(), providers[1].get(),
                                         providers[2].get()},
                                        60, 9);
}

TEST(PostgresProviderTest, WorkersOnOneSchemaNeverShareAnActivity) {
  const std::string schema = NewSchema("workers");
  std::vector<std::unique_ptr<PostgresProvider>> providers;
  for (int i = 0; i < 3; ++i) providers.push_back(MustConnect(schema));
  for (auto& p : providers) ASSERT_TRUE(p);
  ASSERT_TRUE(providers[0]->StartOrchestration(StartItem("a")).ok());
  auto item = providers[0]->FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value());
  TurnCommit c = FirstTurn();
  constexpr int kActivities = 80;
  for (int i = 0; i < kActivities; ++i) {
    history::WorkItem act;
    act.kind = history::WorkItemKind::kActivityExecute;
    act.instance = "a";
    act.execution_id = 1;
    act.id = i + 2;
    c.worker_items.push_back(act);
  }
  ASSERT_TRUE(providers[0]->AckOrchestrationItem((*item)->lock_token, c).ok());
  std::mutex mu;
  std::multiset<int64_t> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 9; ++t) {
    threads.emplace_back([&, t] {
      PostgresProvider& p = *providers[t % providers.size()];
      for (;;) {
        auto lease = p.FetchWorkItem(30000, {});
        ASSERT_TRUE(lease.ok()) << lease.status().ToString();
        if (!lease->has_value()) return;
        {
          std::lock_guard<std::mutex> lock(mu);
          seen.insert((*lease)->item.id);
        }
        ASSERT_TRUE(p.AckWorkItem((*lease)->lock_token, std::nullopt).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kActivities));
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(),
            static_cast<size_t>(kActivities));
}

// Group commit (pg_group_commit.h): acks and fetches of threads sharing one provider object
// share transactions, and every one of them still gets its own, correct outcome.
TEST(PostgresProviderTest, ConcurrentAcksShareTransactionsAndKeepTheirOwnResults) {
  auto p = MustConnect(NewSchema("group"));
  ASSERT_TRUE(p);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 15;
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    ASSERT_TRUE(p->StartOrchestration(StartItem("g" + std::to_string(i))).ok());
  }
  const auto before = p->TEST_GroupCommitCounts();
  std::atomic<int> acked{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        auto item = p->FetchOrchestrationItem(30000);
        ASSERT_TRUE(item.ok()) << item.status().ToString();
        if (!item->has_value()) return;
        // A bad token acknowledged in the same breath fails alone.
        TurnCommit c = FirstTurn();
        std::vector<Status> st = p->AckOrchestrationItemsAndFetch(
            {TurnAck{(*item)->lock_token, &c}, TurnAck{"o-bogus", &c}}, nullptr);
        ASSERT_EQ(st.size(), 2u);
        ASSERT_TRUE(st[0].ok()) << st[0].ToString();
        ASSERT_EQ(st[1].code(), StatusCode::kFailedPrecondition) << st[1].ToString();
        acked++;
        refused++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  EXPECT_EQ(refused.load(), kThreads * kPerThread);
  for (int i = 0; i < kThreads * kPerThread; ++i) {
    auto rec = p->GetInstance("g" + std::to_string(i));
    ASSERT_TRUE(rec.ok() && rec->has_value()) << i;
  }
  const auto after = p->TEST_GroupCommitCounts();
  EXPECT_GT(after.second - before.second, 0);
  EXPECT_LE(after.first - before.first, 2 * (after.second - before.second));
}

// A fetch that commits alone commits with synchronous_commit = off (pg_group_commit.h): a
// server crash may lose its lock. Simulated here by removing the lock: the acknowledgement
// that relied on it fails cleanly, changes nothing, and the work is fetchable again.
TEST(PostgresProviderTest, AckOfALostLockFailsCleanly) {
  auto p = MustConnect(NewSchema("lostlock"));
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->StartOrchestration(StartItem("a")).ok());
  auto item = p->FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value());
  ASSERT_TRUE(p->TEST_ExecuteSql("DELETE FROM instance_locks; "
                                 "UPDATE orchestrator_queue SET lock_token = NULL, "
                                 "attempt_count = attempt_count - 1").ok());
  TurnCommit c = FirstTurn();
  history::WorkItem act;
  act.kind = history::WorkItemKind::kActivityExecute;
  act.instance = "a";
  act.execution_id = 1;
  act.id = 2;
  c.worker_items.push_back(act);
  EXPECT_EQ(p->AckOrchestrationItem((*item)->lock_token, c).code(),
            StatusCode::kFailedPrecondition);
  auto rec = p->GetInstance("a");
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_value());
  auto again = p->FetchOrchestrationItem(30000);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->attempt_count, 1);
  ASSERT_TRUE(p->AckOrchestrationItem((*again)->lock_token, c).ok());
  // The same for an activity.
  auto lease = p->FetchWorkItem(30000, {});
  ASSERT_TRUE(lease.ok() && lease->has_value());
  ASSERT_TRUE(p->TEST_ExecuteSql("UPDATE worker_queue SET lock_token = NULL, "
                                 "locked_until = NULL, attempt_count = 0").ok());
  EXPECT_EQ(p->AckWorkItem((*lease)->lock_token, std::nullopt).code(),
            StatusCode::kFailedPrecondition);
  auto relet = p->FetchWorkItem(30000, {});
  ASSERT_TRUE(relet.ok() && relet->has_value());
  EXPECT_EQ((*relet)->attempt_count, 1);
  EXPECT_TRUE(p->AckWorkItem((*relet)->lock_token, std::nullopt).ok());
}

TEST(PostgresProviderTest, NotificationsWakeOtherProviders) {
  const std::string schema = NewSchema("notify");
  auto a = MustConnect(schema);
  auto b = MustConnect(schema);
  auto other = MustConnect(NewSchema("notify"));
  ASSERT_TRUE(a && b && other);
  ASSERT_TRUE(Eventually([&] { return b->TEST_ListenerConnections() > 0; }, 5000));
  ASSERT_TRUE(Eventually([&] { return other->TEST_ListenerConnections() > 0; }, 5000));
  const uint64_t seen = b->orchestrator_signal().seq();
  const uint64_t other_seen = other->orchestrator_signal().seq();
  ASSERT_TRUE(a->StartOrchestration(StartItem("x")).ok());
  EXPECT_TRUE(b->orchestrator_signal().WaitSince(seen, 5000));
  auto item = b->FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value());
  TurnCommit c = FirstTurn();
  history::WorkItem act;
  act.kind = history::WorkItemKind::kActivityExecute;
  act.instance = "x";
  act.execution_id = 1;
  act.id = 2;
  c.worker_items = {act};
  const uint64_t worker_seen = a->worker_signal().seq();
  // A client of provider `a` waiting on instance x hears of b's commit.
  InstanceSignal::Waiter status_waiter(&a->status_signal(), "x");
  ASSERT_TRUE(b->AckOrchestrationItem((*item)->lock_token, c).ok());
  EXPECT_TRUE(a->worker_signal().WaitSince(worker_seen, 5000));
  EXPECT_TRUE(status_waiter.Wait(5000));
  // Another schema's channel is not this one's.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(other->orchestrator_signal().seq(), other_seen);
}

// A schedule change ('c') and a client's publish ('t') reach the other provider's schedule
// and topic signals (the firing loop and the delivery step sleep on them), and a publish no
// longer wakes the other's orchestration dispatchers.
TEST(PostgresProviderTest, ScheduleChangesAndPublishesWakeOtherProviders) {
  const std::string schema = NewSchema("notify_ct");
  auto a = MustConnect(schema);
  auto b = MustConnect(schema);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(Eventually([&] { return b->TEST_ListenerConnections() > 0; }, 5000));
  EXPECT_TRUE(a->HearsOtherProcesses());
  const uint64_t changes = b->schedules()->changes().seq();
  ScheduleRecord r;
  r.schedule_id = "s";
  r.orchestration = "O";
  r.every_ms = 60000;
  r.next_fire_ms = NowMs() + 60000;
  r.next_due_ms = r.next_fire_ms;
  ASSERT_TRUE(a->schedules()->Create(r).ok());
  EXPECT_TRUE(b->schedules()->changes().WaitSince(changes, 5000));
  const uint64_t topics = b->topic_signal().seq();
  const uint64_t orch = b->orchestrator_signal().seq();
  ASSERT_TRUE(a->PublishEvent({"t", "1", ""}).ok());
  EXPECT_TRUE(b->topic_signal().WaitSince(topics, 5000));
  EXPECT_EQ(b->orchestrator_signal().seq(), orch);
}

TEST(PostgresProviderTest, ConnectionsClosedWhileIdleAreReplacedTransparently) {
  auto p = MustConnect(NewSchema("broken"));
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->StartOrchestration(StartItem("a")).ok());
  p->TEST_BreakConnections();
  auto pending = p->HasPendingStart("a");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending.value());
  auto item = p->FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value()) << item.status().ToString();
  ASSERT_TRUE(p->AckOrchestrationItem((*item)->lock_token, FirstTurn()).ok());
}

TEST(PostgresProviderTest, ConnectionLostMidStatementIsUnavailableAndReplaced) {
  auto p = MustConnect(NewSchema("midway"));
  ASSERT_TRUE(p);
  Status slow;
  std::thread t([&] { slow = p->TEST_ExecuteSql("SELECT pg_sleep(20) /* dx-kill-me */"); });
  pqxx::connection admin(TheServer().url);
  bool killed = Eventually(
      [&] {
        pqxx::nontransaction tx(admin);
        return !tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE pid <> pg_backend_pid() AND query LIKE '%dx-kill-me%' "
                        "AND query NOT LIKE '%pg_stat_activity%'")
                    .empty();
      },
      10000);
  t.join();
  ASSERT_TRUE(killed);
  EXPECT_EQ(slow.code(), StatusCode::kUnavailable) << slow.ToString();
  // The lost connection was dropped; the pool opens a new one.
  for (int i = 0; i < 8; ++i) {
    auto r = p->HasPendingStart("x");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
}

TEST(PostgresProviderTest, ServerRestartIsSurvived) {
  if (!OwnsCluster()) {
    GTEST_SKIP() << "restarting the server needs the throwaway cluster (DATABASE_URL is set)";
  }
  auto p = MustConnect(NewSchema("restart"));
  ASSERT_TRUE(p);
  ASSERT_TRUE(Eventually([&] { return p->TEST_ListenerConnections() > 0; }, 5000));
  ASSERT_TRUE(p->StartOrchestration(StartItem("before")).ok());
  int rc = 0;
  RunCapture(Script() + " restart " + TheServer().cluster_dir, &rc);
  ASSERT_EQ(rc, 0);
  // Every call either succeeds or reports kUnavailable until the pool has reconnected.
  ASSERT_TRUE(Eventually(
      [&] {
        const Status st = p->StartOrchestration(StartItem("after"));
        if (!st.ok()) {
          EXPECT_TRUE(st.code() == StatusCode::kUnavailable ||
                      st.code() == StatusCode::kAlreadyExists)
              << st.ToString();
        }
        return st.ok() || st.code() == StatusCode::kAlreadyExists;
      },
      15000));
  ASSERT_TRUE(Eventually(
      [&] {
        auto a = p->HasPendingStart("before");
        auto b = p->HasPendingStart("after");
        return a.ok() && b.ok() && a.value() && b.value();
      },
      15000));
  // The listener reconnected as well.
  EXPECT_TRUE(Eventually([&] { return p->TEST_ListenerConnections() >= 2; }, 15000));
}

TEST(PostgresProviderTest, TimestampsAreEpochMilliseconds) {
  auto p = MustConnect(NewSchema("ts"));
  ASSERT_TRUE(p);
  const int64_t before = NowMs();
  ASSERT_TRUE(p->StartOrchestration(StartItem("a")).ok());
  auto item = p->FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value());
  TurnCommit c = FirstTurn();
  c.instance_created_at_ms = before - 5000;  // the runtime's choice wins
  ASSERT_TRUE(p->AckOrchestrationItem((*item)->lock_token, c).ok());
  auto rec = p->GetInstance("a");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->created_at_ms, before - 5000);
  EXPECT_GE((*rec)->updated_at_ms, before);
  EXPECT_LE((*rec)->updated_at_ms, NowMs());
}

}  // namespace
}  // namespace duroxide::providers::postgres

// libpqxx 6.4 leaks one PGresult (about 2 KB) when the server terminates a connection in the
// middle of a statement (ConnectionLostMidStatementIsUnavailableAndReplaced does that on
// purpose). The leak is inside libpqxx, not ours to fix; LeakSanitizer builds ignore it.
extern "C" __attribute__((used)) const char* __lsan_default_suppressions() {
  return "leak:libpqxx-6.4.so\n";
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!duroxide::providers::postgres::StartServer()) {
    duroxide::providers::postgres::StopServer();
    std::fprintf(stderr,
                 "postgres_provider_test: no PostgreSQL server: set DATABASE_URL or install the "
                 "server binaries (scripts/setup.sh)\n");
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  duroxide::providers::postgres::StopServer();
  return rc;
}
