// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// A fault-injecting SQLite VFS for tests (docs/reliability.md, "Storage faults"). It wraps the
// default VFS and, while faults are on, makes random xWrite calls fail with SQLITE_IOERR_WRITE
// or SQLITE_FULL (disk full) and random xSync calls fail with SQLITE_IOERR_FSYNC, the way a
// failing disk would. Reads, locks and shared memory pass through untouched.
//
// Only databases opened with SqliteOptions::fault_injection (test-only) use it; it is
// registered on first use and never made the default VFS. The fault plan is process-wide.
// Thread-safety: every function is thread-safe.
#ifndef DUROXIDE_PROVIDERS_SQLITE_SQLITE_FAULT_VFS_H_
#define DUROXIDE_PROVIDERS_SQLITE_SQLITE_FAULT_VFS_H_

#include <cstdint>

namespace duroxide::providers::sqlite::faults {

// The name the VFS is registered under.
inline constexpr const char* kFaultVfsName = "duroxide-faults";

struct FaultPlan {
  double write_error_rate = 0;  // probability that an xWrite fails with SQLITE_IOERR_WRITE
  double disk_full_rate = 0;    // probability that an xWrite fails with SQLITE_FULL
  double sync_error_rate = 0;   // probability that an xSync fails with SQLITE_IOERR_FSYNC
  uint64_t seed = 1;
};

struct FaultStats {
  int64_t writes = 0, syncs = 0;  // calls seen while registered
  int64_t write_errors = 0, disk_full = 0, sync_errors = 0;  // faults injected
};

// Registers the VFS if needed; returns false if SQLite refused it.
bool RegisterFaultVfs();
// Replaces the plan (all rates 0 = no faults) and reseeds the generator.
void SetFaultPlan(const FaultPlan& plan);
FaultStats GetFaultStats();
void ResetFaultStats();

}  // namespace duroxide::providers::sqlite::faults

#endif  // DUROXIDE_PROVIDERS_SQLITE_SQLITE_FAULT_VFS_H_
