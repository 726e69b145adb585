// When the coordinator expects to hear next about a branch command it handed to the relay
// (ARCHITECTURE.md §5), and when it sends one again that went silent. Pure rules of the branch,
// the relay's reports and the time; the driver (through saga_rules.h), RelaySettlement and
// DeadLetterActions apply them.
//
// A command sent at S is expected to be answered, or reported moved to a retry tier, by
// S + first_word_after (the first tier's delay + a ledger call + a margin). Each report "next
// attempt due at T" moves the expectation to T + after_due (a ledger call + the margin). Past the
// expectation in silence, the command was lost (a consumer skipped it, or its message is gone)
// and is sent again at once, unless the relay still has unread commands (then it is only late);
// each such send waits twice as long as the one before. `redispatch_after` after the send stays
// the outer bound.
#pragma once

#include <algorithm>

#include "absl/time/time.h"
#include "common/limits.h"
#include "common/proto_time.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

struct WordTimings {
  absl::Duration first_word_after = absl::Milliseconds(limits::kRelayFirstWordAfterMs);
  absl::Duration after_due =
      absl::Milliseconds(limits::kLedgerCallTimeoutMs + limits::kRelaySilenceMarginMs);
  absl::Duration redispatch_after = absl::Milliseconds(limits::kRedispatchAfterMsDefault);
};

// The expectation of a command sent at `sent`, for the (earlier_sends + 1)-th time. Each send
// after a silence waits twice as long as the one before (never longer than `redispatch_after`):
// when the relay is merely slow, sending again adds to its queue, and a fixed wait would feed on
// itself.
inline absl::Time ExpectAfterSend(absl::Time sent, const WordTimings& timings,
                                  int earlier_sends = 0) {
  absl::Duration wait = timings.first_word_after;
  for (int i = 0; i < earlier_sends && wait < timings.redispatch_after; ++i) wait *= 2;
  return sent + std::min(wait, timings.redispatch_after);
}

// The expectation after the relay reported the next attempt due at `due`. It never moves earlier:
// a late report of an older attempt does not make a command look lost.
inline absl::Time ExpectAfterReport(absl::Time expected, absl::Time due,
                                    const WordTimings& timings) {
  return std::max(expected, due + timings.after_due);
}

// When `branch`, whose command was sent (it has dispatched_at), is to be sent again if nothing is
// heard: its expectation, at most `redispatch_after` after the send. A branch sent before the
// expectation existed has only the outer bound.
inline absl::Time RedispatchAt(const v1::Branch& branch, const WordTimings& timings) {
  const absl::Time bound = ToTime(branch.dispatched_at()) + timings.redispatch_after;
  if (!branch.has_expect_word_by()) return bound;
  return std::min(bound, ToTime(branch.expect_word_by()));
}

}  // namespace fxmesh::coordinator
