#include "cli/exit_codes.h"

#include "absl/strings/cord.h"

namespace fxmesh::cli {
namespace {

// A status payload, the Abseil way to mark an error without inventing a status code.
constexpr absl::string_view kUsagePayload = "type.fxmesh.dev/cli.UsageError";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("usage"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

ExitCode ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return ExitCode::kOk;
  if (IsUsageError(status)) return ExitCode::kUsage;
  switch (status.code()) {
    // These leave the caller not knowing whether the request took effect (ARCHITECTURE.md §3:
    // "a caller must always be able to tell 'no' from 'don't know'"); every other code is a no.
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDataLoss:
      return ExitCode::kNoAnswer;
    default:
      return ExitCode::kRefused;
  }
}

}  // namespace fxmesh::cli
