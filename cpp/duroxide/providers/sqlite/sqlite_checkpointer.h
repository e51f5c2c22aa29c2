// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// WAL checkpoints off the writer (internal to providers/sqlite/). SQLite's automatic
// checkpoint runs inside the COMMIT that crosses the threshold, on the writer's connection:
// that commit (and every writer queued behind it, a client's start included) waits while
// thousands of pages are copied and the database file is synced. Instead, the writer's WAL
// hook counts the frames and wakes this thread, which runs a PASSIVE checkpoint on its own
// connection: it copies committed frames while the writer goes on, and the WAL is reused from
// the start by the first commit after a complete pass.
//
// Durability is unchanged: a checkpoint only copies frames that are already committed in the
// WAL; the WAL stays the source of truth until a pass completes, and the checkpoint syncs
// as SQLite's own does (synchronous setting of this connection = the writer's).
//
// Thread-safety: OnCommit may be called from any thread (it is called by the writer's WAL
// hook, with the writer's connection mutex held); the rest is internal to the thread.
#ifndef DUROXIDE_PROVIDERS_SQLITE_SQLITE_CHECKPOINTER_H_
#define DUROXIDE_PROVIDERS_SQLITE_SQLITE_CHECKPOINTER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

struct sqlite3;

namespace SQLite {
class Database;
}  // namespace SQLite

namespace duroxide::providers::sqlite::internal {

class Checkpointer {
 public:
  // Opens its own connection to `path` (through `vfs`; empty: the default) and starts the thread.
  // Throws SQLite::Exception if the connection cannot be opened.
  Checkpointer(const std::string& path, const std::string& vfs, int busy_timeout_ms,
               bool sync_full);
  ~Checkpointer();  // stops and joins the thread, closes the connection
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the WAL hook on the writer's connection (and disables its automatic checkpoint).
  // REQUIRES: `writer` outlives this object or the hook is removed first (Detach).
  void Attach(sqlite3* writer);
  void Detach();

  // Frames in the WAL after which background passes run (about 2 MB of 1 KiB pages).
  static constexpr int kWakeFrames = 2000;
  // A background pass copies frames while the writer appends more, so under sustained load
  // it never catches up completely, and SQLite reuses the WAL from its start only after a
  // pass that did. Past this many frames the committing writer runs one PASSIVE pass inline
  // (nothing can append meanwhile, so it completes and the next commit restarts the WAL). The
  // background passes have copied most frames by then: the inline pass copies the rest, where
  // SQLite's automatic checkpoint would copy all 10,000 frames inside the commit.
  static constexpr int kInlineFrames = 8000;

  // Checkpoint passes run by the thread (tests and benchmarks).
  int64_t passes() const { return passes_.load(); }

 private:
  static int WalHook(void* self, sqlite3* db, const char* name, int frames);
  void Run();

  std::unique_ptr<SQLite::Database> db_;
  sqlite3* writer_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;   // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::atomic<int64_t> passes_{0};
  std::thread thread_;
};

}  // namespace duroxide::providers::sqlite::internal

#endif  // DUROXIDE_PROVIDERS_SQLITE_SQLITE_CHECKPOINTER_H_
