// Proves the TCC barrier (ARCHITECTURE.md §3) for one branch: every sequence of Try, Confirm and
// Cancel up to length 4 (duplicates included: 120 sequences), with the debit account able and
// unable to pay, is run against the real engine and store and compared, call by call, with an
// independent model of the rules table: the outcome and reason of each call, the hold's state,
// both accounts' balances, and that a DUPLICATE or REJECTED call changed nothing at all.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/ledger/ledger_harness.h"

namespace fxmesh::ledger {
namespace {

using testing::Backend;

enum class Op { kTry, kConfirm, kCancel };

// The rules table, written independently of the engine.
struct BranchModel {
  enum class Hold { kNone, kHeld, kConfirmed, kCancelled };
  Hold hold = Hold::kNone;
  bool cancel_recorded = false;  // A Cancel (applied or null) has happened.

  struct Expected {
    v1::Outcome outcome;
    v1::RejectReason reason = v1::REJECT_REASON_UNSPECIFIED;
  };

  Expected Apply(Op op, bool funds_sufficient) {
    switch (op) {
      case Op::kTry:
        if (hold != Hold::kNone) return {v1::OUTCOME_DUPLICATE};
        if (cancel_recorded) return {v1::OUTCOME_REJECTED, v1::REJECT_REASON_REJECTED_AFTER_CANCEL};
        if (!funds_sufficient) return {v1::OUTCOME_REJECTED, v1::REJECT_REASON_INSUFFICIENT_FUNDS};
        hold = Hold::kHeld;
        return {v1::OUTCOME_APPLIED};
      case Op::kConfirm:
        switch (hold) {
          case Hold::kConfirmed:
            return {v1::OUTCOME_DUPLICATE};
          case Hold::kHeld:
            hold = Hold::kConfirmed;
            return {v1::OUTCOME_APPLIED};
          case Hold::kCancelled:
            return {v1::OUTCOME_REJECTED, v1::REJECT_REASON_BRANCH_CANCELLED};
          case Hold::kNone:
            return {v1::OUTCOME_REJECTED, cancel_recorded ? v1::REJECT_REASON_BRANCH_CANCELLED
                                                          : v1::REJECT_REASON_BRANCH_NOT_TRIED};
        }
        break;
      case Op::kCancel:
        if (cancel_recorded) return {v1::OUTCOME_DUPLICATE};
        switch (hold) {
          case Hold::kHeld:
            hold = Hold::kCancelled;
            cancel_recorded = true;
            return {v1::OUTCOME_APPLIED};
          case Hold::kConfirmed:
            return {v1::OUTCOME_REJECTED, v1::REJECT_REASON_BRANCH_CONFIRMED};
          case Hold::kNone:
            cancel_recorded = true;
            return {v1::OUTCOME_NULL_COMPENSATION};
          case Hold::kCancelled:
            break;  // Unreachable: a cancelled hold implies cancel_recorded.
        }
        break;
    }
    FAIL("model has no rule");
    return {};
  }
};

std::vector<std::vector<Op>> AllSequences(int length_max) {
  std::vector<std::vector<Op>> sequences = {{}};
  std::vector<std::vector<Op>> all;
  for (int length = 1; length <= length_max; ++length) {
    std::vector<std::vector<Op>> longer;
    for (const auto& prefix : sequences) {
      for (Op op : {Op::kTry, Op::kConfirm, Op::kCancel}) {
        longer.push_back(prefix);
        longer.back().push_back(op);
      }
    }
    all.insert(all.end(), longer.begin(), longer.end());
    sequences = std::move(longer);
  }
  return all;
}

std::string Describe(const std::vector<Op>& sequence) {
  std::string text;
  for (Op op : sequence) text += op == Op::kTry ? "T" : op == Op::kConfirm ? "C" : "X";
  return text;
}

FXMESH_BACKEND_TEST("every Try/Confirm/Cancel sequence up to length 4 follows the rules table",
                    "[ledger][db]") {
  LedgerHarness ledger(backend);
  const std::vector<std::vector<Op>> sequences = AllSequences(4);
  REQUIRE(sequences.size() == 3 + 9 + 27 + 81);
  constexpr int64_t kAmount = 700;
  int saga_number = 0;

  for (bool funds_sufficient : {true, false}) {
    const int64_t opening_balance = funds_sufficient ? 1'000 : 500;
    for (const std::vector<Op>& sequence : sequences) {
      const int n = saga_number++;
      const std::string saga = TestSagaId(n);
      const std::string debit = absl::StrCat("debit-", n);
      const std::string credit = absl::StrCat("credit-", n);
      ledger.Open(debit, "KRW");
      ledger.Open(credit, "KRW");
      ledger.Deposit(debit, opening_balance, "KRW");
      BranchModel model;
      INFO("sequence " << Describe(sequence) << (funds_sufficient ? " (funded)" : " (short)"));

      for (size_t step = 0; step < sequence.size(); ++step) {
        INFO("step " << step);
        const std::string before = ledger.Snapshot();
        BranchModel::Expected expected = model.Apply(sequence[step], funds_sufficient);
        v1::BranchResponse response;
        switch (sequence[step]) {
          case Op::kTry:
            response = ledger.Try(saga, "krw", debit, credit, kAmount, "KRW");
            break;
          case Op::kConfirm:
            response = ledger.Confirm(saga, "krw");
            break;
          case Op::kCancel:
            response = ledger.Cancel(saga, "krw");
            break;
        }
        INFO(response.ShortDebugString());
        CHECK(response.outcome() == expected.outcome);
        CHECK(response.reason() == expected.reason);
        if (expected.outcome == v1::OUTCOME_DUPLICATE || expected.outcome == v1::OUTCOME_REJECTED) {
          CHECK(ledger.Snapshot() == before);
        }
      }

      // Final balances follow from the hold's final state alone.
      const v1::Account debit_account = ledger.Account(debit);
      const v1::Account credit_account = ledger.Account(credit);
      using Hold = BranchModel::Hold;
      const bool reserved = model.hold == Hold::kHeld;
      const bool posted = model.hold == Hold::kConfirmed;
      CHECK(debit_account.available_minor() ==
            opening_balance - ((reserved || posted) ? kAmount : 0));
      CHECK(debit_account.held_minor() == (reserved ? kAmount : 0));
      CHECK(credit_account.incoming_minor() == (reserved ? kAmount : 0));
      CHECK(credit_account.available_minor() == (posted ? kAmount : 0));

      v1::ListHoldsRequest holds_request;
      holds_request.set_saga_id(saga);
      v1::ListHoldsResponse holds;
      REQUIRE(ledger.engine().ListHolds(holds_request, &holds).ok());
      if (model.hold == Hold::kNone) {
        CHECK(holds.holds_size() == 0);
      } else {
        REQUIRE(holds.holds_size() == 1);
        const v1::HoldState expected_state = model.hold == Hold::kHeld ? v1::HOLD_STATE_HELD
                                             : posted                  ? v1::HOLD_STATE_CONFIRMED
                                                                       : v1::HOLD_STATE_CANCELLED;
        CHECK(holds.holds(0).state() == expected_state);
      }
    }
  }
  ledger.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::ledger
