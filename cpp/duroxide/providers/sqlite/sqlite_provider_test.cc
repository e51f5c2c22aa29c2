// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Runs the provider conformance suite against in-memory and file SQLite databases, plus tests
// of what only SQLite has: files, reopening, several connections, WAL, schema versions and the
// SQLite error classifier.
#include "duroxide/providers/sqlite/sqlite_provider.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <gtest/gtest.h>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/sqlite/sqlite_fault_vfs.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"
#include "duroxide/providers/testing/provider_conformance.h"
#include "duroxide/providers/testing/provider_store_test_util.h"

namespace duroxide::providers::sqlite {
namespace {

namespace fs = std::filesystem;
using testing::ProviderConformance;
using testing::ProviderFactory;
using testing::ProviderFactoryName;
using testing::FirstTurn;
using testing::StartItem;

// One temporary directory per test binary run, removed at the end.
class TempDirEnvironment : public ::testing::Environment {
 public:
  static fs::path Dir() {
    static const fs::path dir = [] {
      std::string pattern = (fs::temp_directory_path() / "duroxide-sqlite-XXXXXX").string();
      const char* made = mkdtemp(pattern.data());
      return fs::path(made != nullptr ? made : pattern);
    }();
    return dir;
  }
  static std::string NewFile(const std::string& stem) {
    static std::atomic<int> counter{0};
    return (Dir() / (stem + "-" + std::to_string(counter++) + ".db")).string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(Dir(), ec);
  }
};
[[maybe_unused]] ::testing::Environment* const kTempDirEnv =
    ::testing::AddGlobalTestEnvironment(new TempDirEnvironment);

std::unique_ptr<SqliteProvider> MustOpen(const std::string& path) {
  auto r = SqliteProvider::Open(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::string SqlQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

void CorruptHistory(Provider* provider, const std::string& instance) {
  auto* sqlite = dynamic_cast<SqliteProvider*>(provider);
  ASSERT_NE(sqlite, nullptr);
  const Status st = sqlite->TEST_ExecuteSql(
      "UPDATE history SET event_data = '{not json' WHERE instance_id = " + SqlQuote(instance));
  ASSERT_TRUE(st.ok()) << st.ToString();
}

ProviderFactory InMemoryFactory() {
  return {"InMemory",
          []() -> std::unique_ptr<Provider> {
            auto r = SqliteProvider::InMemory();
            return r.ok() ? std::move(r).value() : nullptr;
          },
          CorruptHistory};
}

ProviderFactory FileFactory() {
  return {"File",
          []() -> std::unique_ptr<Provider> { return MustOpen(TempDirEnvironment::NewFile("c")); },
          CorruptHistory};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, ProviderConformance,
                         ::testing::Values(InMemoryFactory(), FileFactory()),
                         ProviderFactoryName());

TEST(SqliteStatusTest, ClassifiesSqliteErrors) {
  EXPECT_EQ(StatusFromSqliteError(SQLITE_BUSY, SQLITE_BUSY, "op", "m").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, "op", "m").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_LOCKED, SQLITE_LOCKED, "op", "m").code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_PRIMARYKEY, "op", "m")
                .code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_UNIQUE, "op", "m").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_NOTNULL, "op", "m").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_CHECK, "op", "m").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_CORRUPT, SQLITE_CORRUPT, "op", "m").code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_NOTADB, SQLITE_NOTADB, "op", "m").code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(StatusFromSqliteError(SQLITE_IOERR, SQLITE_IOERR_WRITE, "op", "m").code(),
            StatusCode::kInternal);
  EXPECT_EQ(StatusFromSqliteError(-1, -1, "op", "m").code(), StatusCode::kInternal);
  // An extended code passed as the primary code is classified by its low byte.
  EXPECT_EQ(StatusFromSqliteError(SQLITE_BUSY_TIMEOUT, -1, "op", "m").code(),
            StatusCode::kUnavailable);
  const Status st = StatusFromSqliteError(SQLITE_BUSY, SQLITE_BUSY, "Fetch", "database is locked");
  EXPECT_EQ(st.operation(), "Fetch");
  EXPECT_EQ(st.message(), "database is locked");
  EXPECT_TRUE(st.retryable());
}

TEST(SqliteProviderTest, FileReopenKeepsData) {
  const std::string path = TempDirEnvironment::NewFile("reopen");
  {
    auto p = MustOpen(path);
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->StartOrchestration(StartItem("a")).ok());
    auto item = p->FetchOrchestrationItem(30000);
    ASSERT_TRUE(item.ok() && item->has_value());
    ASSERT_TRUE(p->AckOrchestrationItem((*item)->lock_token, FirstTurn()).ok());
    ASSERT_TRUE(p->StartOrchestration(StartItem("b")).ok());
  }
  auto p = MustOpen(path);
  ASSERT_TRUE(p);
  auto rec = p->GetInstance("a");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->name, "Orch");
  EXPECT_EQ(p->ReadHistory("a", 0)->size(), 1u);
  EXPECT_TRUE(p->HasPendingStart("b").value());
}

TEST(SqliteProviderTest, OpenAcceptsPrefixesAndCreatesDirectories) {
  const fs::path nested =
      fs::path(TempDirEnvironment::NewFile("nested")).replace_extension() / "y" / "db.sqlite";
  auto a = SqliteProvider::Open("sqlite:" + nested.string() + "?mode=rwc");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(fs::exists(nested));
  EXPECT_EQ((*a)->path(), nested.string());
  ASSERT_TRUE((*a)->StartOrchestration(StartItem("a")).ok());
  auto b = SqliteProvider::Open("sqlite://" + nested.string());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE((*b)->HasPendingStart("a").value());
  auto mem = SqliteProvider::Open("sqlite::memory:");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ((*mem)->path(), "");
  EXPECT_FALSE(SqliteProvider::Open("sqlite:").ok());
}

TEST(SqliteProviderTest, InMemoryDatabasesArePrivate) {
  auto a = SqliteProvider::InMemory();
  auto b = SqliteProvider::InMemory();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->StartOrchestration(StartItem("x")).ok());
  EXPECT_TRUE((*a)->HasPendingStart("x").value());
  EXPECT_FALSE((*b)->HasPendingStart("x").value());
}

TEST(SqliteProviderTest, WalModeIsOnForFiles) {
  const std::string path = TempDirEnvironment::NewFile("wal");
  auto p = MustOpen(path);
  ASSERT_TRUE(p);
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
  EXPECT_EQ(raw.execAndGet("SELECT MAX(version) FROM schema_version").getInt64(), LatestSchemaVersion());
}

TEST(SqliteProviderTest, PageSizeAppliesToNewFilesOnly) {
  const std::string path = TempDirEnvironment::NewFile("pagesize");
  {
    auto p = MustOpen(path);
    ASSERT_TRUE(p);
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("PRAGMA page_size").getInt(), 1024);
  }
  SqliteOptions bigger;
  bigger.page_size = 8192;
  auto again = SqliteProvider::Open(path, bigger);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA page_size").getInt(), 1024);  // the file keeps its own

  const std::string other = TempDirEnvironment::NewFile("pagesize8k");
  auto big = SqliteProvider::Open(other, bigger);
  ASSERT_TRUE(big.ok());
  SQLite::Database raw8(other, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw8.execAndGet("PRAGMA page_size").getInt(), 8192);

  SqliteOptions bad;
  bad.page_size = 1000;
  auto rejected = SqliteProvider::Open(TempDirEnvironment::NewFile("pagesizebad"), bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rejected.status().message().find("page_size"), std::string::npos);
}

TEST(SqliteProviderTest, TwoProvidersOnOneFileSeeEachOthersWork) {
  const std::string path = TempDirEnvironment::NewFile("shared");
  auto a = MustOpen(path);
  auto b = MustOpen(path);
  ASSERT_TRUE(a && b);
  testing::ExpectProvidersShareOneStore(*a, *b);
}

TEST(SqliteProviderTest, ConnectionsOnOneFileNeverShareALockedInstance) {
  const std::string path = TempDirEnvironment::NewFile("contended");
  std::vector<std::unique_ptr<SqliteProvider>> providers;
  for (int i = 0; i < 3; ++i) providers.push_back(MustOpen(path));
  for (auto& p : providers) ASSERT_TRUE(p);
  testing::ExpectNoInstanceFetchedTwice({providers[0].get(), providers[1].get(),
                                         providers[2].get()},
                                        30, 6);
}

TEST(SqliteProviderTest, ConcurrentOpensOfANewFileAreIdempotent) {
  const std::string path = TempDirEnvironment::NewFile("concurrent-open");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (!SqliteProvider::Open(path).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  // Every migration applied once (version numbers may have gaps).
  EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) - COUNT(DISTINCT version) FROM schema_version")
                .getInt64(),
            0);
  EXPECT_EQ(raw.execAndGet("SELECT MAX(version) FROM schema_version").getInt64(),
            LatestSchemaVersion());
}

// A store whose recorded versions have a gap (migration 3 missing below the recorded
// maximum, e.g. written by a build that had later migrations but not 3) gets the missing
// migration on the next open, not only versions above the maximum.
TEST(SqliteProviderTest, MissingMigrationBelowTheRecordedMaximumIsApplied) {
  const std::string path = TempDirEnvironment::NewFile("gap");
  ASSERT_TRUE(MustOpen(path));
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.exec("DROP TABLE dead_letters; DROP TABLE topics; DROP TABLE topic_log; "
             "DROP TABLE subscriptions; DROP TABLE client_replies; "
             "DELETE FROM schema_version WHERE version = 3");
  }
  auto p = MustOpen(path);
  ASSERT_TRUE(p);
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) FROM schema_version WHERE version = 3").getInt(), 1);
  EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                           "('dead_letters', 'topics', 'topic_log', 'subscriptions', "
                           "'client_replies')")
                .getInt(),
            5);
  EXPECT_TRUE(p->messaging()->ListTopics().ok());
}

// A version 1 database (queues with AUTOINCREMENT and lock_token indexes) with queued work is
// upgraded in place: messages keep their ids and order, and the work is still delivered.
TEST(SqliteProviderTest, VersionOneDatabaseIsUpgradedWithItsQueues) {
  const std::string path = TempDirEnvironment::NewFile("v1");
  {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA journal_mode=WAL");
    ASSERT_EQ(ApplyMigrations(raw, 1), 1);
    SQLite::Statement q(raw,
                        "INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, "
                        "attempt_count, created_at) VALUES (?1, 'StartOrchestration', ?2, 0, 0, 0)");
    for (const char* id : {"old-a", "old-b"}) {
      q.reset();
      q.bind(1, id);
      q.bind(2, history::EncodeWorkItem(StartItem(id)));
      q.exec();
    }
    history::WorkItem act;
    act.kind = history::WorkItemKind::kActivityExecute;
    act.instance = "old-a";
    act.execution_id = 1;
    act.id = 2;
    act.name = "Act";
    act.input = "1";
    SQLite::Statement w(raw,
                        "INSERT INTO worker_queue(work_item, visible_at, lock_token, locked_until, "
                        "attempt_count, created_at, instance_id, execution_id, activity_id) "
                        "VALUES (?1, 0, 'w-stale', 1, 1, 0, 'old-a', 1, 2)");
    w.bind(1, history::EncodeWorkItem(act));
    w.exec();
    // An expired lock of the old format (UNIQUE lock_token column) on old-a.
    raw.exec("INSERT INTO instance_locks VALUES ('old-a', 'o-stale', 1, 1)");
  }
  auto p = MustOpen(path);
  ASSERT_TRUE(p);
  {
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("SELECT MAX(version) FROM schema_version").getInt64(), LatestSchemaVersion());
    EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                             "('idx_orch_lock', 'idx_worker_lock', 'orchestrator_queue_v2')")
                  .getInt(),
              0);
    EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%'")
                  .getInt(),
              0);
    EXPECT_EQ(raw.execAndGet("SELECT COUNT(*) FROM sqlite_master WHERE name = 'instance_locks' "
                             "AND sql LIKE '%WITHOUT ROWID%'")
                  .getInt(),
              1);
    EXPECT_EQ(raw.execAndGet("SELECT lock_token FROM instance_locks").getString(), "o-stale");
  }
  auto first = p->FetchOrchestrationItem(30000);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->instance, "old-a");  // FIFO order survived; the expired lock is taken over
  EXPECT_EQ(p->AbandonOrchestrationItem("o-stale", 0, true).code(),
            StatusCode::kFailedPrecondition);
  auto second = p->FetchOrchestrationItem(30000);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->instance, "old-b");
  // The stale lock (locked_until in 1970) has expired: the row is redelivered with a new token.
  WorkerFetchOptions any;
  any.tag_filter.mode = TagFilter::Mode::kAny;
  auto lease = p->FetchWorkItem(30000, any);
  ASSERT_TRUE(lease.ok() && lease->has_value()) << lease.status().ToString();
  EXPECT_EQ((*lease)->item.name, "Act");
  EXPECT_EQ((*lease)->attempt_count, 2);
  EXPECT_EQ(p->AckWorkItem("w-stale", std::nullopt).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p->AckWorkItem((*lease)->lock_token, std::nullopt).ok());
  // New rows continue after the copied ids.
  ASSERT_TRUE(p->StartOrchestration(StartItem("new-c")).ok());
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("SELECT id FROM orchestrator_queue WHERE instance_id = 'new-c'").getInt(),
            3);
}

TEST(SqliteProviderTest, NewerSchemaVersionIsRejected) {
  const std::string path = TempDirEnvironment::NewFile("newer");
  {
    auto p = MustOpen(path);
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->TEST_ExecuteSql("INSERT INTO schema_version VALUES (999, 'future', 0)").ok());
  }
  auto r = SqliteProvider::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

TEST(SqliteProviderTest, NotADatabaseIsDataLoss) {
  const std::string path = TempDirEnvironment::NewFile("garbage");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto r = SqliteProvider::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
}

TEST(SqliteProviderTest, TimestampsAreEpochMilliseconds) {
  auto r = SqliteProvider::InMemory();
  ASSERT_TRUE(r.ok());
  SqliteProvider& p = **r;
  const int64_t before = NowMs();
  ASSERT_TRUE(p.StartOrchestration(StartItem("a")).ok());
  auto item = p.FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value());
  ASSERT_TRUE(p.AckOrchestrationItem((*item)->lock_token, FirstTurn()).ok());
  auto rec = p.GetInstance("a");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_GE((*rec)->created_at_ms, before);
  EXPECT_LE((*rec)->updated_at_ms, NowMs());
}

TEST(SqliteGroupCommitTest, FailedTaskIsUndoneAloneAndTheOthersRunAgain) {
  SQLite::Database db(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  std::mutex mu;
  internal::GroupCommit group(&mu, &db);
  int runs_a = 0;
  auto insert = [&](int id) { db.exec("INSERT INTO t VALUES (" + std::to_string(id) + ")"); };
  const std::function<Status()> a = [&] {
    ++runs_a;
    insert(1);
    return Status::Ok();
  };
  const std::function<Status()> b = [&] {  // writes, then fails
    insert(2);
    return Status::FailedPrecondition("b", "fails after writing");
  };
  const std::function<Status()> c = [&] {
    insert(3);
    return Status::Ok();
  };
  std::vector<Status> st = group.RunAll({{"a", &a}, {"b", &b}, {"c", &c}});
  ASSERT_EQ(st.size(), 3u);
  EXPECT_TRUE(st[0].ok());
  EXPECT_EQ(st[1].code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(st[2].ok());
  EXPECT_EQ(db.execAndGet("SELECT group_concat(id) FROM t").getString(), "1,3");
  EXPECT_EQ(runs_a, 2);  // optimistic pass rolled back, then the pass with savepoints
  EXPECT_EQ(group.optimistic_retries(), 1u);
  // A batch where everything succeeds commits in one pass.
  const std::function<Status()> d = [&] {
    insert(4);
    return Status::Ok();
  };
  st = group.RunAll({{"a", &a}, {"d", &d}});
  EXPECT_FALSE(st[0].ok());  // id 1 exists: a fails on its own this time
  EXPECT_TRUE(st[1].ok());
  EXPECT_EQ(db.execAndGet("SELECT group_concat(id) FROM t").getString(), "1,3,4");
  EXPECT_EQ(group.optimistic_retries(), 2u);
  st = group.RunAll({{"d5", &c}, {"d6", &d}});  // both fail (ids exist): nothing committed
  EXPECT_FALSE(st[0].ok());
  EXPECT_FALSE(st[1].ok());
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM t").getInt(), 3);
}

TEST(SqliteProviderTest, GroupCommitKeepsConcurrentOperationsIndependent) {
  // Many threads write at once so that operations share transactions; a failing operation
  // (duplicate start) must not undo or fail the others committed with it.
  auto dir = std::filesystem::temp_directory_path() / ("dx-group-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  auto opened = SqliteProvider::Open((dir / "g.db").string());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<SqliteProvider> p = std::move(opened).value();
  history::WorkItem dup;
  dup.kind = history::WorkItemKind::kStartOrchestration;
  dup.instance = "taken";
  dup.name = "X";
  ASSERT_TRUE(p->StartOrchestration(dup).ok());
  std::atomic<int> ok{0}, rejected{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        history::WorkItem w = dup;
        if (i % 2 == 0) w.instance = "i-" + std::to_string(t) + "-" + std::to_string(i);
        Status st = p->StartOrchestration(w);
        if (st.ok()) ++ok;
        else if (st.code() == StatusCode::kAlreadyExists) ++rejected;
        else ++other;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8 * 20);
  EXPECT_EQ(rejected.load(), 8 * 20);
  EXPECT_EQ(other.load(), 0);
  for (int t = 0; t < 8; ++t) {
    for (int i = 0; i < 40; i += 2) {
      auto pending = p->HasPendingStart("i-" + std::to_string(t) + "-" + std::to_string(i));
      ASSERT_TRUE(pending.ok());
      EXPECT_TRUE(*pending);
    }
  }
  // Reopening shows the same: everything acknowledged was committed.
  p.reset();
  auto again = SqliteProvider::Open((dir / "g.db").string());
  ASSERT_TRUE(again.ok());
  auto pending = (*again)->HasPendingStart("i-7-38");
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(*pending);
  std::filesystem::remove_all(dir);
}

// The fault-injecting VFS (test-only): failed writes and syncs surface as errors (never a
// crash), the connection stays usable, and the file passes integrity_check afterwards.
TEST(SqliteFaultInjection, FaultsSurfaceAndTheFileStaysIntact) {
  namespace t = faults;
  const std::string path = TempDirEnvironment::NewFile("faults");
  SqliteOptions options;
  options.fault_injection = true;
  auto p = SqliteProvider::Open(path, options);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  t::ResetFaultStats();
  t::SetFaultPlan(t::FaultPlan{0.2, 0.1, 0.2, 7});
  int failed = 0, ok = 0;
  for (int i = 0; i < 60; ++i) {
    Status st = (*p)->StartOrchestration(StartItem("f" + std::to_string(i)));
    (st.ok() ? ok : failed)++;
  }
  t::SetFaultPlan(t::FaultPlan{});
  const t::FaultStats stats = t::GetFaultStats();
  EXPECT_GT(stats.write_errors + stats.disk_full + stats.sync_errors, 0);
  EXPECT_GT(failed, 0);
  // Faults stopped: every start goes through (or existed). SQLite's pager may report the
  // last I/O error once more before it recovers, so a start gets one retry.
  for (int i = 0; i < 60; ++i) {
    Status st = (*p)->StartOrchestration(StartItem("f" + std::to_string(i)));
    if (!st.ok() && st.code() != StatusCode::kAlreadyExists) {
      st = (*p)->StartOrchestration(StartItem("f" + std::to_string(i)));
    }
    EXPECT_TRUE(st.ok() || st.code() == StatusCode::kAlreadyExists) << st.ToString();
  }
  p->reset();
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM orchestrator_queue").getInt(), 60);
}

}  // namespace
}  // namespace duroxide::providers::sqlite
