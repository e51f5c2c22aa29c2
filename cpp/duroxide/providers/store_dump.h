// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Export, import and digest of a whole store (docs/dump-format.md, issue 29), written once for
// both providers as a generic table copier. The tables of the SQLite and PostgreSQL schemas have
// the same names, columns and keys, so the copier reads the store's own catalog instead of a
// hand-kept list: tables added by later migrations are copied without code changes, and a
// provider only supplies a small SqlSession (one connection, its catalog, literal quoting).
//
// What is copied (the rules every table follows):
//   - every table of the catalog except kNotCopied (worker registry, leases and sessions, the
//     schema bookkeeping and the import marker itself);
//   - every column except provider-local ones (kLocalColumns, e.g. PostgreSQL's instances.seq);
//   - lease columns (kLeaseColumns) are written as NULL: leased work becomes claimable;
//   - a table whose primary key is one integer column named `id` is a queue-like table with a
//     surrogate key: its ids are shifted on import by the target's max(id) taken when the import
//     began (so a merge never collides, and the order of rows is kept).
// Part of the `duroxide_providers` contract library: no database driver here.
// Thread-safety: an Exporter/Importer/SqlSession is used by one thread at a time.
#ifndef DUROXIDE_PROVIDERS_STORE_DUMP_H_
#define DUROXIDE_PROVIDERS_STORE_DUMP_H_

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "duroxide/common/status.h"

namespace duroxide::providers::dump {

using Json = nlohmann::json;

// The dump format this build writes, and the newest it reads.
inline constexpr int kFormatVersion = 1;
// The marker table an unfinished import leaves on its target (a runtime refuses to start).
inline constexpr const char* kMarkerTable = "_duroxide_import";

enum class ColumnKind { kInteger, kReal, kBoolean, kText };

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kText;
};

struct TableInfo {
  std::string name;
  std::vector<Column> columns;     // catalog order
  std::vector<std::string> key;    // primary key columns, in key order (may be empty)
};

// One connection of one store, for the copier. Implemented by each provider (sqlite_dump.cc,
// postgres_dump.cc). Methods throw the driver's exceptions; ToStatus converts them.
// The SQL literal of a null, boolean or number `v` (booleans as `true_text`/`false_text`,
// reals with 17 significant digits so they read back exactly); nullopt for a string, which
// each dialect quotes itself.
std::optional<std::string> ScalarLiteral(const Json& v, const char* true_text,
                                         const char* false_text);

class SqlSession {
 public:
  virtual ~SqlSession() = default;
  virtual const char* dialect() const = 0;  // "sqlite" | "postgres"
  // The store's user tables (no system catalogs), with their columns and primary keys.
  virtual std::vector<TableInfo> Tables() = 0;
  // Runs `sql`, calling `row` for every result row; values are null, integer, real, string or
  // boolean JSON values.
  virtual void Query(const std::string& sql, const std::function<void(std::vector<Json>&)>& row) = 0;
  // Runs a statement; returns the number of rows it changed.
  virtual int64_t Exec(const std::string& sql) = 0;
  // `v` (null, integer, real, string or boolean) as an SQL literal of this dialect.
  virtual std::string Literal(const Json& v) = 0;
  virtual std::string QuoteName(const std::string& ident) = 0;
  // A consistent snapshot for reads (until Commit), or a write transaction.
  virtual void BeginRead() = 0;
  virtual void BeginWrite() = 0;
  virtual void Commit() = 0;
  // Ends the open transaction, if any, without its writes; never throws.
  virtual void Rollback() noexcept = 0;
  // After rows with explicit values were inserted into `table`.`column` (a surrogate key):
  // make the store's own id generator continue above them (PostgreSQL sequences).
  virtual void AfterExplicitIds(const std::string& /*table*/, const std::string& /*column*/) {}
  virtual Status ToStatus(const std::exception& e, const std::string& op) = 0;
};

// Implemented by the providers that can be copied (found by dynamic_cast, so that the hot-path
// Provider interface stays as it is).
class DumpSource {
 public:
  virtual ~DumpSource() = default;
  // A new session on its own connection to this store.
  virtual Result<std::unique_ptr<SqlSession>> OpenDumpSession() = 0;
};

// The copier's view of one table: which columns go into the dump and how rows are keyed.
struct TablePlan {
  TableInfo info;
  std::vector<Column> columns;  // dumped columns
  bool instance_scoped = false;  // has an instance_id column
  bool surrogate_id = false;     // primary key is one integer column `id`
  bool has_topic = false;        // has a topic column (topics, topic_log)
};

// The dumped tables of a store, in dump order (instances, executions, history first).
std::vector<TablePlan> PlanTables(const std::vector<TableInfo>& tables);

struct ExportFilter {
  std::optional<std::vector<std::string>> instance_ids;
  std::optional<std::string> status;  // of the current execution
};

// Streams the dump records of a store from one read snapshot. A table record
// {"table": name, "columns": [...], "key": [...]} precedes the table's rows; each row is a JSON
// array of the column values. The header and end records are written by the caller.
class Exporter {
 public:
  static Result<std::unique_ptr<Exporter>> Open(std::unique_ptr<SqlSession> session,
                                                ExportFilter filter);
  // Up to about `max_rows` further records as JSON lines (each ending in '\n'); "" at the end.
  Result<std::string> Next(size_t max_rows);
  // Rows written so far per table.
  const std::map<std::string, int64_t>& counts() const { return counts_; }
  // Instances the snapshot selects (for progress).
  int64_t instances_total() const { return instances_total_; }

 private:
  Exporter(std::unique_ptr<SqlSession> s, ExportFilter f) : s_(std::move(s)), filter_(std::move(f)) {}
  std::string Where(const TablePlan& t);
  void Page(const TablePlan& t, size_t limit, std::string* out, size_t* rows);

  std::unique_ptr<SqlSession> s_;
  ExportFilter filter_;
  std::vector<TablePlan> plan_;
  size_t table_ = 0;
  bool table_started_ = false;
  bool table_done_ = false;
  std::vector<Json> last_key_;  // key of the last row written of the current table
  int64_t offset_ = 0;          // for tables without a primary key
  std::map<std::string, int64_t> counts_;
  int64_t instances_total_ = 0;
};

struct ImportResult {
  std::map<std::string, int64_t> rows;  // rows written per table (all runs of this import)
  std::vector<std::string> skipped;     // instance ids that existed in the target (merge)
  bool resumed = false;
};

// Writes dump records into a target. The marker row (kMarkerTable, key "state") is written in
// the first transaction and removed by Finish(); it holds the dump id, the id shifts and the
// rows committed per table, each batch committing its rows and its progress together, so that
// a killed import resumes by skipping exactly the committed rows.
class Importer {
 public:
  // `dump_id` identifies the dump (a second import of another dump while one is unfinished is
  // refused). Without `merge` a target holding instances is refused (kFailedPrecondition).
  static Result<std::unique_ptr<Importer>> Open(std::unique_ptr<SqlSession> session,
                                                const std::string& dump_id, bool merge);
  bool resumed() const { return result_.resumed; }
  // Rows already committed for `table` by earlier runs (skip them).
  int64_t committed(const std::string& table) const;
  // Starts a table section; checks its columns against the target.
  Status BeginTable(const std::string& table, const std::vector<std::string>& columns,
                    const std::string& where);
  // Inserts rows (JSON lines, each an array) of the current table in one transaction.
  // `where` ("FILE line N") names the first line in error messages.
  Status Insert(const std::vector<std::string>& lines, const std::string& where);
  // Resets id generators and removes the marker.
  Result<ImportResult> Finish();

 private:
  Importer(std::unique_ptr<SqlSession> s, bool merge) : s_(std::move(s)), merge_(merge) {}
  void SaveState();
  std::string InsertSql(const std::vector<std::vector<Json>>& rows);

  std::unique_ptr<SqlSession> s_;
  bool merge_;
  std::string dump_id_;
  std::vector<TablePlan> plan_;
  Json state_;
  const TablePlan* table_ = nullptr;
  std::vector<std::string> columns_;     // of the current section
  std::vector<ColumnKind> target_kinds_;  // target kind of each section column
  int instance_col_ = -1, id_col_ = -1;
  int64_t id_shift_ = 0;
  std::set<std::string> skipped_;
  ImportResult result_;
};

// Validates dump lines of a table with `ncolumns` columns without writing anything
// (kInvalidArgument naming `file` and the line). `first_line` is the 1-based line of lines[0].
Status ValidateRows(const std::vector<std::string>& lines, size_t ncolumns,
                    const std::string& file, int64_t first_line);

// Per-instance digests for verification: for each listed instance, a hash over its rows in
// every instance-scoped table (ordered by key; surrogate ids and lease columns left out),
// as 16 hex digits. Instances without any row are absent.
Result<std::map<std::string, std::string>> DigestInstances(SqlSession& s,
                                                           const std::vector<std::string>& ids);
// Up to `limit` instance ids of the `instances` table after `after`, ascending.
Result<std::vector<std::string>> InstanceIdsAfter(SqlSession& s, const std::string& after,
                                                  int64_t limit);
// Row count of every dumped table.
Result<std::map<std::string, int64_t>> TableCounts(SqlSession& s);
// The unfinished import's state (JSON text) if the store carries the marker.
Result<std::optional<std::string>> ImportMarker(SqlSession& s);

}  // namespace duroxide::providers::dump

#endif  // DUROXIDE_PROVIDERS_STORE_DUMP_H_
