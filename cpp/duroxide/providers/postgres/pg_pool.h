// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Internal to the PostgreSQL provider (only included by providers/postgres/*.cc): a small pool
// of libpqxx connections with reconnect-and-backoff, and the LISTEN thread that turns
// notifications of other processes into ChangeSignal wake-ups.
#ifndef DUROXIDE_PROVIDERS_POSTGRES_PG_POOL_H_
#define DUROXIDE_PROVIDERS_POSTGRES_PG_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pqxx/connection>

#include "duroxide/common/status.h"

namespace duroxide::providers::postgres::internal {

// A named prepared statement, registered on every pooled connection.
struct StatementDef {
  std::string name;
  std::string sql;
};

// Opens one connection to `url` with search_path set to the (already validated) `schema`
// and the statements registered (libpqxx prepares them lazily, on first use).
// Throws pqxx exceptions on failure.
std::unique_ptr<pqxx::connection> OpenConnection(const std::string& url, const std::string& schema,
                                                 const std::vector<StatementDef>& statements);

// Thread-safety: thread-safe. Each connection is used by one thread at a time (a Lease);
// Acquire() blocks while all connections are leased.
class PgPool {
 public:
  PgPool(std::string url, std::string schema, int size, std::vector<StatementDef> statements);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Exclusive use of one connection until destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), slot_(other.slot_) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();
    pqxx::connection_base& conn();
    // The connection is unusable (lost, or state unknown): it is closed and replaced by a new
    // one on the next Acquire().
    void MarkBroken();

   private:
    friend class PgPool;
    Lease(PgPool* pool, size_t slot) : pool_(pool), slot_(slot) {}
    PgPool* pool_;
    size_t slot_;
  };

  // Leases a connection, opening a new one if the slot has none (first use, or after a lost
  // connection). While reconnecting fails, further attempts are spaced by a backoff that
  // doubles from 50 ms to 5 s; calls inside the backoff window fail at once with kUnavailable.
  Result<Lease> Acquire(const std::string& op);

  // Hands `conn` (already opened by the caller) to the pool as its first connection.
  void Seed(std::unique_ptr<pqxx::connection> conn);

  // Test hook: breaks the socket of every idle connection, as a server restart would.
  void TEST_BreakIdle();

 private:
  struct Slot {
    std::unique_ptr<pqxx::connection> conn;
    bool leased = false;
  };
  void Release(size_t slot, bool broken);

  const std::string url_;
  const std::string schema_;
  const std::vector<StatementDef> statements_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;       // GUARDED_BY(mu_)
  int64_t next_connect_at_ms_ = 0;  // GUARDED_BY(mu_)
  int64_t backoff_ms_ = 0;          // GUARDED_BY(mu_)
};

// Listens on one channel with its own connection and calls `on_payload` for every
// notification; `on_reconnect` runs after every (re)connection, because notifications sent
// while disconnected are lost. Reconnects with backoff (50 ms doubling to 5 s); never throws.
// Thread-safety: owns one background thread, stopped and joined by the destructor.
class PgListener {
 public:
  PgListener(std::string url, std::string channel, std::function<void(const std::string&)> on_payload,
             std::function<void()> on_reconnect);
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // True once the listener has been connected (LISTEN issued) at least once.
  bool connected_once() const { return connected_once_.load(); }
  // Number of successful (re)connections so far (tests).
  int64_t connections() const { return connections_.load(); }

 private:
  void Run();
  // Waits up to timeout_ms for `fd` (or -1: only the wake pipe) to become readable.
  // Returns false if the listener is being stopped.
  bool Wait(int fd, int timeout_ms);

  const std::string url_;
  const std::string channel_;
  std::function<void(const std::string&)> on_payload_;
  std::function<void()> on_reconnect_;
  int wake_fds_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_once_{false};
  std::atomic<int64_t> connections_{0};
  std::thread thread_;
};

}  // namespace duroxide::providers::postgres::internal

#endif  // DUROXIDE_PROVIDERS_POSTGRES_PG_POOL_H_
