// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The PostgreSQL server of postgres_provider_test (see postgres_test_server.h).
#include "duroxide/providers/postgres/postgres_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <pqxx/nontransaction>
#include <pqxx/pqxx>

namespace duroxide::providers::postgres {

Server& TheServer() {
  static Server* server = new Server();
  return *server;
}

std::string Script() { return std::string(DUROXIDE_SOURCE_DIR) + "/scripts/pg_test_cluster.sh"; }

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string RunCapture(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) {
    *rc = -1;
    return out;
  }
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  *rc = pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool StartServer() {
  Server& s = TheServer();
  if (const char* env = std::getenv("DATABASE_URL"); env != nullptr && *env != '\0') {
    s.url = env;
    std::fprintf(stderr, "[postgres_provider_test] using DATABASE_URL\n");
    return true;
  }
  // tmpfs when available: a throwaway cluster with fsync off loses nothing there, and schema
  // creation and cluster start/removal are several times faster than on the root filesystem.
  std::string pattern = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm/duroxide-pgtest-XXXXXX"
                                                             : "/tmp/duroxide-pgtest-XXXXXX";
  char* dir = mkdtemp(pattern.data());
  if (dir == nullptr) return false;
  chmod(dir, 0755);
  s.cluster_dir = dir;
  const int port = FreePort();
  int rc = 0;
  s.url = RunCapture(Script() + " start " + s.cluster_dir + " " + std::to_string(port), &rc);
  if (rc != 0 || s.url.empty()) {
    std::fprintf(stderr, "[postgres_provider_test] could not start a PostgreSQL cluster (%s)\n",
                 s.url.c_str());
    return false;
  }
  std::fprintf(stderr, "[postgres_provider_test] started throwaway cluster %s\n", s.url.c_str());
  return true;
}

void StopServer() {
  Server& s = TheServer();
  if (s.cluster_dir.empty()) {
    // A server we do not own: drop what the tests created.
    try {
      pqxx::connection conn(s.url);
      pqxx::nontransaction tx(conn);
      for (const std::string& schema : s.schemas) {
        tx.exec("DROP SCHEMA IF EXISTS " + conn.quote_name(schema) + " CASCADE");
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "[postgres_provider_test] cleanup failed: %s\n", e.what());
    }
    return;
  }
  int rc = 0;
  RunCapture(Script() + " stop " + s.cluster_dir, &rc);
}

bool OwnsCluster() { return !TheServer().cluster_dir.empty(); }

std::string NewSchema(const std::string& stem) {
  static std::atomic<int> counter{0};
  static const std::string run = [] {
    char buf[9];
    std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(std::random_device{}()));
    return std::string(buf);
  }();
  std::string name = "dxt_" + run + "_" + stem + "_" + std::to_string(counter++);
  std::lock_guard<std::mutex> lock(TheServer().mu);
  TheServer().schemas.push_back(name);
  return name;
}

}  // namespace duroxide::providers::postgres
