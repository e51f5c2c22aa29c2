// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/sqlite/sqlite_checkpointer.h"

#include <sqlite3.h>

#include <SQLiteCpp/SQLiteCpp.h>

namespace duroxide::providers::sqlite::internal {

Checkpointer::Checkpointer(const std::string& path, const std::string& vfs,
                           int busy_timeout_ms, bool sync_full) {
  db_ = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX,
                                           busy_timeout_ms, vfs);
  db_->exec(sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
  // This connection never writes rows: it must not checkpoint from a hook of its own.
  db_->exec("PRAGMA wal_autocheckpoint=0");
  thread_ = std::thread([this] { Run(); });
}

Checkpointer::~Checkpointer() {
  Detach();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Checkpointer::Attach(sqlite3* writer) {
  writer_ = writer;
  sqlite3_wal_hook(writer, &Checkpointer::WalHook, this);
}

void Checkpointer::Detach() {
  if (writer_ != nullptr) {
    // Back to SQLite's own automatic checkpoint (this also replaces our hook).
    sqlite3_wal_autocheckpoint(writer_, 10000);
    writer_ = nullptr;
  }
}

int Checkpointer::WalHook(void* self, sqlite3* db, const char* name, int frames) {
  auto* c = static_cast<Checkpointer*>(self);
  if (frames >= kInlineFrames) {
    // What the automatic checkpoint does; a failure here is not the commit's failure.
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    return SQLITE_OK;
  }
  if (frames >= kWakeFrames) {
    {
      std::lock_guard<std::mutex> lock(c->mu_);
      if (c->wanted_) return SQLITE_OK;
      c->wanted_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return wanted_ || stopping_; });
    if (stopping_) return;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, never waits for or blocks the writer. BUSY
    // (another process is checkpointing) is fine: that one does the work.
    sqlite3_wal_checkpoint_v2(db_->getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                              nullptr);
    passes_++;
    lock.lock();
    wanted_ = false;
  }
}

}  // namespace duroxide::providers::sqlite::internal
