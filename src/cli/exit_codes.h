// The fxmesh tool's exit codes, and how an error becomes one. Documented in `fxmesh help` and
// docs/cli.md; scripts rely on them, so a code's meaning never changes.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fxmesh::cli {

enum class ExitCode : int {
  // The command did what was asked (an exchange COMPLETED, a ledger APPLIED or DUPLICATE).
  kOk = 0,
  // The service answered, and the business outcome was a failure: an exchange FAILED, a ledger
  // REJECTED the request, reconcile found a ledger out of balance.
  kFailed = 1,
  // The command line is wrong (unknown command or option, a bad amount): nothing was sent.
  kUsage = 2,
  // The service refused the request with a gRPC error that is a definite "no" (INVALID_ARGUMENT,
  // NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, PERMISSION_DENIED, ...): nothing changed.
  kRefused = 3,
  // No definite answer: the service is unreachable or the deadline passed (UNAVAILABLE,
  // DEADLINE_EXCEEDED, and INTERNAL, UNKNOWN, ABORTED, CANCELLED, DATA_LOSS). The request may or
  // may not have been carried out; repeating it with the same key or request id is safe.
  kNoAnswer = 4,
  // An exchange was accepted but is not final yet (PENDING): follow it with `fxmesh watch`.
  kPending = 5,
};

// A mistake on the command line, found before anything was sent: INVALID_ARGUMENT marked so that
// ExitCodeFor() tells it from a service's INVALID_ARGUMENT.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

// kUsage for UsageError(), kNoAnswer or kRefused for a service's error by its code, kOk for OK.
ExitCode ExitCodeFor(const absl::Status& status);

}  // namespace fxmesh::cli
