// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The PostgreSQL server postgres_provider_test runs against: DATABASE_URL if set, otherwise a
// throwaway cluster started with scripts/pg_test_cluster.sh on a free port (on tmpfs when
// available) and removed by StopServer. Test support only.
#ifndef DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_TEST_SERVER_H_
#define DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_TEST_SERVER_H_

#include <mutex>
#include <string>
#include <vector>

namespace duroxide::providers::postgres {

struct Server {
  std::string url;
  std::string cluster_dir;  // non-empty: a throwaway cluster this binary started
  std::mutex mu;
  std::vector<std::string> schemas;  // created by the tests, dropped at exit
};

// scripts/pg_test_cluster.sh (start | stop | restart DIR [PORT]).
std::string Script();
// A free TCP port on the loopback interface, or -1.
int FreePort();
// Runs `cmd` through the shell; its standard output without the trailing newline.
std::string RunCapture(const std::string& cmd, int* rc);
// The one server of the process.
Server& TheServer();
// Uses DATABASE_URL or starts a throwaway cluster; false (with a message) if neither works.
bool StartServer();
// Removes the throwaway cluster, or drops the schemas the tests made on a server not ours.
void StopServer();
// True when the server is a throwaway cluster of this binary (tests may restart it).
bool OwnsCluster();
// A fresh schema name, unique to this run, remembered for StopServer.
std::string NewSchema(const std::string& stem = "t");

}  // namespace duroxide::providers::postgres

#endif  // DUROXIDE_PROVIDERS_POSTGRES_POSTGRES_TEST_SERVER_H_
