// Every limit of fxmesh, named in one place. Units come last in each name.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fxmesh::limits {

// Money. One request moves at most 10^15 minor units (10 trillion USD, 1 quadrillion KRW), so that
// sums of many requests and rate products stay far from int64 overflow.
inline constexpr int64_t kAmountMinorMax = 1'000'000'000'000'000;

// Identifiers.
inline constexpr size_t kAccountIdLengthMax = 64;
inline constexpr size_t kRequestIdLengthMax = 64;
inline constexpr size_t kOwnerLengthMax = 128;
inline constexpr size_t kBranchNameLengthMax = 32;
inline constexpr size_t kSagaIdHexLength = 32;

// Storage.
inline constexpr int kTransactionAttemptsMax = 5;
inline constexpr int kSqliteBusyTimeoutMs = 5'000;
inline constexpr size_t kPostgresPoolSizeDefault = 8;
inline constexpr size_t kSqlitePoolSizeDefault = 4;

// Serving. Each service runs its database work on a bounded pool; past the queue bound a call
// is refused with UNAVAILABLE rather than queued without limit.
inline constexpr size_t kWorkerQueueDepthMax = 4'096;
inline constexpr int kShutdownGraceMs = 10'000;

// Listing.
inline constexpr int kListPageSizeDefault = 100;
inline constexpr int kListPageSizeMax = 1'000;

static_assert(kAmountMinorMax < INT64_MAX / 1'000, "room to sum a thousand maximal amounts");
static_assert(kListPageSizeDefault <= kListPageSizeMax);
static_assert(kSqliteBusyTimeoutMs < kShutdownGraceMs);

}  // namespace fxmesh::limits
