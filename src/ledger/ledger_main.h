// The main() both ledger binaries share: flags, FXMESH_* environment variables, start, serve until
// SIGTERM or SIGINT, graceful shutdown. Only the binaries link this; the flags live here alone.
#pragma once

namespace fxmesh::ledger {

// What distinguishes one ledger binary from the other.
struct LedgerBinary {
  const char* service_name;        // "krw-ledger"
  const char* listen_default;      // "127.0.0.1:50061"
  const char* database_default;    // "sqlite:.fxmesh/krw-ledger.db"
  const char* currencies_default;  // "KRW"
};

// The whole main() of a ledger binary: flags (and FXMESH_* environment variables), start, serve
// until SIGTERM or SIGINT, then shut down gracefully. Returns the process exit code.
int RunLedgerMain(int argc, char** argv, const LedgerBinary& binary);

}  // namespace fxmesh::ledger
