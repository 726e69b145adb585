// `fxmesh dev`: the whole mesh on one machine, for trying fxmesh and developing it. Starts the
// embedded Kafka, both ledgers, the coordinator and the relay as child processes on their
// well-known loopback ports, with SQLite files under one data folder (kept between runs); prefixes
// every log line with its service's name (colored on a terminal); waits until each reports
// SERVING on the gRPC health service; prints a banner with every endpoint; and on Ctrl-C (or
// SIGTERM) stops the services in reverse order, each with SIGTERM and its graceful drain. If a
// service dies on its own, the rest are stopped too and the exit code is 1.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace fxmesh::cli {

struct DevOptions {
  // Where the service binaries are (fxmesh-krw-ledger, ...).
  std::string bin_dir;
  // SQLite files and the Kafka bootstrap file.
  std::string data_dir = ".fxmesh/data";
  // The coordinator's rates file.
  std::string rates = "config/rates.txt";
  // Extra environment for the relay's retry tiers, e.g. "2000,2000" (empty: the defaults).
  std::string tier_delays_ms;
};

// Runs until stopped; returns the process exit code.
int RunDev(const DevOptions& options);

}  // namespace fxmesh::cli
