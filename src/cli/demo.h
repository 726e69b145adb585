// `fxmesh demo`: a scripted tour against a running mesh (`fxmesh dev`), printing what happens at
// each step: a customer's accounts and deposits, a quote, an exchange each way, a failing exchange
// and its compensation through the relay, an operator pausing a ledger (new exchanges refused,
// then accepted with the same key once it is resumed), a stuck exchange resolved by two operators,
// and the audit log of it. Every name it creates is new (a fresh customer per run), so it can run
// again and again against the same data.
//
// The stuck exchange needs ledgers started with --dev_faults (`fxmesh dev` starts them so): the
// demo arms the FX ledger's dev fault on Try (LedgerFaultService), so the exchange stays PENDING
// in TRYING; operator alice finds it and proposes to cancel it, operator bob approves, the saga
// ends CANCELLED with no hold left HELD, and the fault is cleared again, even when the story fails.
#pragma once

#include "absl/status/statusor.h"
#include "cli/exit_codes.h"
#include "cli/session.h"

namespace fxmesh::cli {

// kOk when the story ran as told, kFailed (with the reason on stderr) when it did not; a call's
// error as the other commands report theirs.
absl::StatusOr<ExitCode> RunDemo(Session& session);

}  // namespace fxmesh::cli
