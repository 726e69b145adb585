// `fxmesh demo`: a scripted tour against a running mesh (`fxmesh dev`), printing what happens at
// each step: a customer's accounts and deposits, a quote, an exchange each way, a failing exchange
// and its compensation through the relay, an operator pausing a ledger (new exchanges refused,
// then accepted with the same key once it is resumed), and the audit log of it. Every name it
// creates is new (a fresh customer per run), so it can run again and again against the same data.
#pragma once

#include "absl/status/statusor.h"
#include "cli/exit_codes.h"
#include "cli/session.h"

namespace fxmesh::cli {

// kOk when the story ran as told, kFailed (with the reason on stderr) when it did not; a call's
// error as the other commands report theirs.
absl::StatusOr<ExitCode> RunDemo(Session& session);

}  // namespace fxmesh::cli
