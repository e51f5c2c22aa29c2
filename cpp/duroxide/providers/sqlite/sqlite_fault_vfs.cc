// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/sqlite/sqlite_fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>

namespace duroxide::providers::sqlite::faults {
namespace {

struct State {
  std::mutex mu;
  FaultPlan plan;                 // GUARDED_BY(mu)
  std::mt19937_64 rng{1};         // GUARDED_BY(mu)
  std::atomic<bool> active{false};
  std::atomic<int64_t> writes{0}, syncs{0}, write_errors{0}, disk_full{0}, sync_errors{0};
};

State& S() {
  static State* s = new State();  // lives for the process: SQLite may call in at exit
  return *s;
}

// Returns 0 (no fault), or the error code to inject for a write (`is_sync` false) or a sync.
int Draw(bool is_sync) {
  State& s = S();
  (is_sync ? s.syncs : s.writes)++;
  if (!s.active.load(std::memory_order_relaxed)) return 0;
  std::lock_guard<std::mutex> lock(s.mu);
  const double r = std::uniform_real_distribution<double>(0, 1)(s.rng);
  if (is_sync) {
    if (r < s.plan.sync_error_rate) {
      s.sync_errors++;
      return SQLITE_IOERR_FSYNC;
    }
    return 0;
  }
  if (r < s.plan.write_error_rate) {
    s.write_errors++;
    return SQLITE_IOERR_WRITE;
  }
  if (r < s.plan.write_error_rate + s.plan.disk_full_rate) {
    s.disk_full++;
    return SQLITE_FULL;
  }
  return 0;
}

sqlite3_vfs g_vfs;
sqlite3_vfs* g_base = nullptr;

// Our file object: the base VFS's file follows it in the same allocation.
struct FaultFile {
  sqlite3_file base;  // must be first: SQLite sees this
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (int rc = Draw(false)) return rc;
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Draw(true)) return rc;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); }
int Unlock(sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int pg, int sz, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), pg, sz, extend, out);
}
int ShmLock(sqlite3_file* f, int off, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), off, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

// Version 3 methods; entries the real file lacks are filled per file in Open.
const sqlite3_io_methods kMethods = {
    3,        Close,       Read,     Write,        Truncate,  Sync,
    FileSize, Lock,        Unlock,   CheckReservedLock,      FileControl,
    SectorSize, DeviceCharacteristics, ShmMap,   ShmLock,   ShmBarrier,
    ShmUnmap, Fetch,       Unfetch};
const sqlite3_io_methods kMethodsV1 = {
    1,        Close,       Read,     Write,        Truncate,  Sync,
    FileSize, Lock,        Unlock,   CheckReservedLock,      FileControl,
    SectorSize, DeviceCharacteristics, nullptr,  nullptr,   nullptr,
    nullptr,  nullptr,     nullptr};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* ff = reinterpret_cast<FaultFile*>(file);
  ff->real = reinterpret_cast<sqlite3_file*>(ff + 1);
  std::memset(ff->real, 0, static_cast<size_t>(g_base->szOsFile));
  int rc = g_base->xOpen(g_base, name, ff->real, flags, out_flags);
  if (ff->real->pMethods == nullptr) {
    file->pMethods = nullptr;  // SQLite then does not call xClose
    return rc;
  }
  file->pMethods = ff->real->pMethods->iVersion >= 3 ? &kMethods : &kMethodsV1;
  return rc;
}

}  // namespace

bool RegisterFaultVfs() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    g_base = sqlite3_vfs_find(nullptr);
    if (g_base == nullptr) return;
    g_vfs = *g_base;  // every other entry point passes straight through
    g_vfs.zName = kFaultVfsName;
    g_vfs.pNext = nullptr;
    g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_base->szOsFile;
    g_vfs.xOpen = Open;
    ok = sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) == SQLITE_OK;
  });
  return ok;
}

void SetFaultPlan(const FaultPlan& plan) {
  State& s = S();
  std::lock_guard<std::mutex> lock(s.mu);
  s.plan = plan;
  s.rng.seed(plan.seed);
  s.active.store(plan.write_error_rate > 0 || plan.disk_full_rate > 0 || plan.sync_error_rate > 0);
}

FaultStats GetFaultStats() {
  State& s = S();
  FaultStats out;
  out.writes = s.writes.load();
  out.syncs = s.syncs.load();
  out.write_errors = s.write_errors.load();
  out.disk_full = s.disk_full.load();
  out.sync_errors = s.sync_errors.load();
  return out;
}

void ResetFaultStats() {
  State& s = S();
  s.writes = 0;
  s.syncs = 0;
  s.write_errors = 0;
  s.disk_full = 0;
  s.sync_errors = 0;
}

}  // namespace duroxide::providers::sqlite::faults
