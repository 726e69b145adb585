// Bulk seeding of a ledger database for the many-accounts scenarios: opens `customers` accounts
// in one currency, each funded by one deposit, before the ledger serves. Funding a million
// customers over gRPC would take hours; this runs the ledger's own engine (LedgerEngine's
// OpenAccount and Deposit, so every row is the one those calls write: the account, the
// external_transfers row and the journal entry) with many calls per local transaction.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/db.h"

namespace fxmesh::bench {

// Customers a seed may open: their deposits must sum within int64 (the ledger's totals).
inline constexpr int64_t kSeedCustomersMax = 4'000'000;
// Each seeded KRW account receives this much (won), each USD account this much (cents).
inline constexpr int64_t kSeedKrwMinor = 1'000'000'000'000;
inline constexpr int64_t kSeedUsdMinor = 1'000'000'000;
static_assert(kSeedCustomersMax * kSeedKrwMinor < INT64_MAX / 2, "seeded totals fit in int64");
// Customers opened and funded per local transaction.
inline constexpr int kSeedCustomersPerTransaction = 5'000;

struct SeedRequest {
  DatabaseOptions database;
  // The ledger's one currency ("KRW" or "USD").
  std::string currency;
  // Customers "c0" .. "c<customers-1>"; customer cN gets account "cN-<suffix>".
  int64_t customers = 0;
  std::string account_suffix;
  int64_t deposit_minor = 0;
};

struct SeedReport {
  int64_t accounts = 0;
  double seconds = 0;
};

// Migrates the database, opens and funds every customer's account, then checks with the engine's
// own balance sheet that the ledger balances and holds every account. INVALID_ARGUMENT for a count
// out of range; FAILED_PRECONDITION when an account already exists (nothing of that transaction is
// kept) or the ledger does not balance afterwards.
absl::StatusOr<SeedReport> SeedLedger(const SeedRequest& request);

}  // namespace fxmesh::bench
