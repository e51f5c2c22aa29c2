// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Connection pool and LISTEN thread of the PostgreSQL provider.
//
// A lost connection (PostgreSQL restarted, backend terminated, network cut) surfaces as a
// pqxx::broken_connection (or a class 08 / 57P0x SQLSTATE) in whatever call used it. The
// caller marks its lease broken; the pool then drops that connection object and opens a fresh
// one on the next Acquire(). libpqxx 6.4 could also "reactivate" a connection by itself, but
// a fresh object is simpler to reason about: no session state survives by accident.
#include "duroxide/providers/postgres/pg_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include <pqxx/nontransaction>
#include <pqxx/notification>

#include "duroxide/common/clock.h"
#include "duroxide/providers/postgres/pg_errors.h"

namespace duroxide::providers::postgres::internal {

namespace {

constexpr int64_t kMinBackoffMs = 50;
constexpr int64_t kMaxBackoffMs = 5000;

int64_t NextBackoff(int64_t current) {
  return current <= 0 ? kMinBackoffMs : std::min(current * 2, kMaxBackoffMs);
}

// An idle connection has nothing to read unless the server sent something on its own: a
// notice, a notification, or (most often) the end of the connection because the server shut
// down or terminated the backend. One poll() with a zero timeout tells; only then does
// libpqxx consume the input and find out whether the connection is still open.
bool IsAlive(pqxx::connection& conn) {
  const int fd = conn.sock();
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return true;  // nothing pending: alive as far as we can tell
  try {
    conn.get_notifs();
  } catch (const std::exception&) {
    return false;
  }
  return conn.is_open();
}

}  // namespace

std::unique_ptr<pqxx::connection> OpenConnection(const std::string& url, const std::string& schema,
                                                 const std::vector<StatementDef>& statements) {
  auto conn = std::make_unique<pqxx::connection>(url);
  // set_variable (rather than a plain SET) is remembered by libpqxx and restored should it
  // ever reactivate the connection on its own.
  conn->set_variable("search_path", conn->quote_name(schema));
  for (const StatementDef& s : statements) conn->prepare(s.name, s.sql);
  return conn;
}

// ---- PgPool --------------------------------------------------------------------------------

PgPool::PgPool(std::string url, std::string schema, int size,
               std::vector<StatementDef> statements)
    : url_(std::move(url)),
      schema_(std::move(schema)),
      statements_(std::move(statements)),
      slots_(static_cast<size_t>(std::max(size, 1))) {}

PgPool::~PgPool() = default;

void PgPool::Seed(std::unique_ptr<pqxx::connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  slots_[0].conn = std::move(conn);
}

void PgPool::TEST_BreakIdle() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Slot& s : slots_) {
    if (!s.leased && s.conn) s.conn->simulate_failure();
  }
}

Result<PgPool::Lease> PgPool::Acquire(const std::string& op) {
  size_t slot = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      // Prefer a free slot that is already connected; otherwise any free slot.
      size_t best = slots_.size();
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].leased) continue;
        if (slots_[i].conn) {
          best = i;
          break;
        }
        if (best == slots_.size()) best = i;
      }
      if (best != slots_.size()) {
        slot = best;
        break;
      }
      cv_.wait(lock);
    }
    if (!slots_[slot].conn) {
      const int64_t now = NowMs();
      if (now < next_connect_at_ms_) {
        return Status::Unavailable(op, "PostgreSQL connection lost; reconnecting in " +
                                           std::to_string(next_connect_at_ms_ - now) + " ms");
      }
    }
    slots_[slot].leased = true;
  }
  Lease lease(this, slot);
  if (slots_[slot].conn && IsAlive(*slots_[slot].conn)) return Result<Lease>(std::move(lease));
  if (slots_[slot].conn) {
    // Closed by the server while idle (restart, idle timeout): replace it before anything is
    // sent, so the caller never sees the stale connection.
    std::lock_guard<std::mutex> lock(mu_);
    slots_[slot].conn.reset();
  }
  // Connect outside the mutex: it can take a while, and other slots stay usable.
  try {
    std::unique_ptr<pqxx::connection> conn = OpenConnection(url_, schema_, statements_);
    std::lock_guard<std::mutex> lock(mu_);
    slots_[slot].conn = std::move(conn);
    backoff_ms_ = 0;
    next_connect_at_ms_ = 0;
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      backoff_ms_ = NextBackoff(backoff_ms_);
      next_connect_at_ms_ = NowMs() + backoff_ms_;
    }
    Status st = StatusFromPgException(e, op);
    if (st.code() == StatusCode::kInternal) st = Status::Unavailable(op, st.message());
    return st;  // the lease goes back to the pool, still without a connection
  }
  return Result<Lease>(std::move(lease));
}

void PgPool::Release(size_t slot, bool broken) {
  std::unique_ptr<pqxx::connection> dead;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken) dead = std::move(slots_[slot].conn);
    slots_[slot].leased = false;
  }
  cv_.notify_one();
  // `dead` is closed here, outside the mutex (closing never throws in libpqxx).
}

PgPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(slot_, false);
}

pqxx::connection_base& PgPool::Lease::conn() { return *pool_->slots_[slot_].conn; }

void PgPool::Lease::MarkBroken() {
  if (pool_ == nullptr) return;
  pool_->Release(slot_, true);
  pool_ = nullptr;
}

// ---- PgListener ----------------------------------------------------------------------------

namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, const std::string& channel,
           const std::function<void(const std::string&)>& cb)
      : pqxx::notification_receiver(c, channel), cb_(cb) {}
  void operator()(const std::string& payload, int /*backend_pid*/) override { cb_(payload); }

 private:
  const std::function<void(const std::string&)>& cb_;
};

}  // namespace

PgListener::PgListener(std::string url, std::string channel,
                       std::function<void(const std::string&)> on_payload,
                       std::function<void()> on_reconnect)
    : url_(std::move(url)),
      channel_(std::move(channel)),
      on_payload_(std::move(on_payload)),
      on_reconnect_(std::move(on_reconnect)) {
  if (pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_fds_[0] = wake_fds_[1] = -1;
  }
  thread_ = std::thread([this] { Run(); });
}

PgListener::~PgListener() {
  stop_.store(true);
  if (wake_fds_[1] >= 0) {
    const char b = 1;
    [[maybe_unused]] ssize_t n = write(wake_fds_[1], &b, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : wake_fds_) {
    if (fd >= 0) close(fd);
  }
}

bool PgListener::Wait(int fd, int timeout_ms) {
  if (stop_.load()) return false;
  pollfd fds[2];
  nfds_t n = 0;
  if (wake_fds_[0] >= 0) fds[n++] = pollfd{wake_fds_[0], POLLIN, 0};
  if (fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
  if (wake_fds_[0] < 0) timeout_ms = std::min(timeout_ms, 100);  // no pipe: poll stop_ often
  if (n == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
  } else {
    poll(fds, n, timeout_ms);
  }
  return !stop_.load();
}

void PgListener::Run() {
  int64_t backoff = 0;
  while (!stop_.load()) {
    std::unique_ptr<pqxx::connection> conn;
    std::unique_ptr<Receiver> receiver;
    try {
      conn = std::make_unique<pqxx::connection>(url_);
      receiver = std::make_unique<Receiver>(*conn, channel_, on_payload_);
      // The receiver's LISTEN is sent lazily; force it now so nothing is missed from here on.
      conn->get_notifs();
      {
        pqxx::nontransaction tx(*conn);
        tx.exec("SELECT 1");
      }
      backoff = 0;
      connected_once_.store(true);
      connections_.fetch_add(1);
      on_reconnect_();
      while (!stop_.load()) {
        if (!Wait(conn->sock(), 1000)) break;
        conn->get_notifs();
        if (!conn->is_open()) throw pqxx::broken_connection("listener connection closed");
      }
    } catch (const std::exception&) {
      // Lost or never made: retry below after a backoff.
    }
    receiver.reset();
    conn.reset();
    if (stop_.load()) break;
    backoff = NextBackoff(backoff);
    Wait(-1, static_cast<int>(backoff));
  }
}

}  // namespace duroxide::providers::postgres::internal
