// `fxmesh dev`: the whole mesh on one machine, for trying fxmesh and developing it. Starts the
// embedded Kafka, both ledgers, the coordinator and the relay as child processes on their
// well-known loopback ports, with SQLite files under one data folder (kept between runs); prefixes
// every log line with its service's name (colored on a terminal); waits until each reports
// SERVING on the gRPC health service; prints a banner with every endpoint; and on Ctrl-C (or
// SIGTERM) stops the services in reverse order, each with SIGTERM and its graceful drain. A
// service that dies on its own is started again after a backoff (internal/restart_policy.h), and
// the log says so; after too many crashes in a row the rest are stopped too and the exit code is
// 1. The embedded Kafka's bootstrap address is a fixed port, the same across runs and restarts.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace fxmesh::cli {

// The embedded Kafka's bootstrap port unless --kafka-port says otherwise (moved by the port
// offset like every other port).
inline constexpr int kDevKafkaPort = 50092;

struct DevOptions {
  // Where the service binaries are (fxmesh-krw-ledger, ...).
  std::string bin_dir;
  // SQLite files and the Kafka bootstrap file.
  std::string data_dir = ".fxmesh/data";
  // The coordinator's rates file.
  std::string rates = "config/rates.txt";
  // Extra environment for the relay's retry tiers, e.g. "2000,2000" (empty: the defaults).
  std::string tier_delays_ms;
  // Added to every well-known port (50051, 50061, 50062, 50071, 50081, 50092, 9051, ...), so a
  // second mesh, or a test, can run beside the first.
  int port_offset = 0;
  // The embedded Kafka's bootstrap port; 0 is kDevKafkaPort + port_offset.
  int kafka_port = 0;
  // Every service over mutual TLS, with certificates from a local CA made (once) in `tls_dir`
  // (dev_certificates.h); empty `tls_dir` is "tls" beside the data folder.
  bool tls = false;
  std::string tls_dir;
};

// Runs until stopped; returns the process exit code.
int RunDev(const DevOptions& options);

}  // namespace fxmesh::cli
