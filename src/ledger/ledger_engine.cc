#include "ledger/ledger_engine.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/check.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/paging.h"
#include "common/status_macros.h"

namespace fxmesh::ledger {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::string_view kPositionPrefix = "position:";
// The counterparty of deposits and withdrawals in the journal: the world outside this ledger.
constexpr absl::string_view kExternalAccount = "external";

// Sets a rejection on any of the ledger's response messages.
template <typename Response>
void Reject(Response* response, v1::RejectReason reason, std::string detail) {
  response->set_outcome(v1::OUTCOME_REJECTED);
  response->set_reason(reason);
  response->set_detail(std::move(detail));
}

v1::Account AccountToProto(const AccountRow& row) {
  v1::Account account;
  account.set_account_id(row.account_id);
  account.set_currency(row.currency);
  account.set_kind(row.kind == AccountKind::kPosition ? v1::ACCOUNT_KIND_POSITION
                                                      : v1::ACCOUNT_KIND_CUSTOMER);
  account.set_owner(row.owner);
  account.set_available_minor(row.available_minor);
  account.set_held_minor(row.held_minor);
  account.set_incoming_minor(row.incoming_minor);
  account.set_frozen(row.frozen);
  *account.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(row.created_at_us);
  *account.mutable_updated_at() = TimeUtil::MicrosecondsToTimestamp(row.updated_at_us);
  return account;
}

v1::Hold HoldToProto(const HoldRow& row) {
  v1::Hold hold;
  hold.mutable_branch()->set_saga_id(row.branch.saga_id);
  hold.mutable_branch()->set_branch(row.branch.branch);
  hold.set_debit_account_id(row.debit_account_id);
  hold.set_credit_account_id(row.credit_account_id);
  hold.mutable_amount()->set_amount_minor(row.amount_minor);
  hold.mutable_amount()->set_currency(row.currency);
  hold.set_state(static_cast<v1::HoldState>(row.state));
  *hold.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(row.created_at_us);
  *hold.mutable_updated_at() = TimeUtil::MicrosecondsToTimestamp(row.updated_at_us);
  return hold;
}

v1::JournalEntry JournalToProto(const JournalRow& row) {
  v1::JournalEntry entry;
  entry.set_entry_id(row.entry_id);
  entry.set_kind(static_cast<v1::JournalKind>(row.kind));
  entry.set_debit_account_id(row.debit_account_id);
  entry.set_credit_account_id(row.credit_account_id);
  entry.mutable_amount()->set_amount_minor(row.amount_minor);
  entry.mutable_amount()->set_currency(row.currency);
  if (row.kind == JournalKind::kTransfer) {
    entry.mutable_branch()->set_saga_id(row.branch.saga_id);
    entry.mutable_branch()->set_branch(row.branch.branch);
  }
  entry.set_request_id(row.request_id);
  *entry.mutable_posted_at() = TimeUtil::MicrosecondsToTimestamp(row.posted_at_us);
  return entry;
}

absl::StatusOr<BranchKey> ValidateBranch(const v1::BranchRef& branch) {
  RETURN_IF_ERROR(ValidateSagaId(branch.saga_id()));
  RETURN_IF_ERROR(ValidateBranchName(branch.branch()));
  return BranchKey{branch.saga_id(), branch.branch()};
}

absl::Status ValidateAccountId(absl::string_view account_id, absl::string_view field) {
  return ValidateKey(account_id, field, limits::kAccountIdLengthMax);
}

// Checks that a money invariant still holds after a computation; a failure is a bug in this file,
// so the process stops before anything is written.
void CheckBalances(const AccountRow& account) {
  FXMESH_CHECK(account.available_minor >= 0, "available balance went negative");
  FXMESH_CHECK(account.held_minor >= 0, "held balance went negative");
  FXMESH_CHECK(account.incoming_minor >= 0, "incoming balance went negative");
}

// Locks both accounts of a transfer in id order, so that two transactions over the same pair can
// never wait on each other in opposite orders.
absl::Status LockPair(LedgerTransaction& transaction, absl::string_view debit_id,
                      absl::string_view credit_id, std::optional<AccountRow>* debit,
                      std::optional<AccountRow>* credit) {
  if (debit_id < credit_id) {
    ASSIGN_OR_RETURN(*debit, transaction.LockAccount(debit_id));
    ASSIGN_OR_RETURN(*credit, transaction.LockAccount(credit_id));
  } else {
    ASSIGN_OR_RETURN(*credit, transaction.LockAccount(credit_id));
    ASSIGN_OR_RETURN(*debit, transaction.LockAccount(debit_id));
  }
  return absl::OkStatus();
}

// Settles a HELD hold: CONFIRMED posts it (the debit's held leaves, the credit's incoming becomes
// available), CANCELLED releases it (held returns to the debit's available, incoming is dropped).
// Writes both accounts and the hold, and updates `hold` to match.
absl::Status SettleHold(LedgerTransaction& transaction, HoldRow& hold, HoldState outcome,
                        int64_t now_us) {
  std::optional<AccountRow> debit, credit;
  RETURN_IF_ERROR(
      LockPair(transaction, hold.debit_account_id, hold.credit_account_id, &debit, &credit));
  FXMESH_CHECK(debit && credit, "a held transfer's account disappeared");
  debit->held_minor -= hold.amount_minor;
  credit->incoming_minor -= hold.amount_minor;
  if (outcome == HoldState::kConfirmed) {
    credit->available_minor += hold.amount_minor;
  } else {
    debit->available_minor += hold.amount_minor;
  }
  debit->updated_at_us = credit->updated_at_us = now_us;
  CheckBalances(*debit);
  CheckBalances(*credit);
  hold.state = outcome;
  hold.updated_at_us = now_us;
  RETURN_IF_ERROR(transaction.UpdateAccount(*debit));
  RETURN_IF_ERROR(transaction.UpdateAccount(*credit));
  return transaction.UpdateHoldState(hold.branch, outcome, now_us);
}

// A hold lives only when its Try did; a missing one means the database and the barrier disagree.
absl::Status MissingHold(const BranchKey& branch) {
  return absl::InternalError(absl::StrCat("branch ", branch.saga_id, "/", branch.branch,
                                          " has a Try barrier but no hold"));
}

}  // namespace

std::string PositionAccountId(absl::string_view currency) {
  return absl::StrCat(kPositionPrefix, currency);
}

LedgerEngine::LedgerEngine(LedgerStore& store, const Clock& clock, std::vector<Currency> currencies)
    : store_(store), clock_(clock), currencies_(std::move(currencies)) {}

int64_t LedgerEngine::NowMicros() const { return absl::ToUnixMicros(clock_.Now()); }

absl::Status LedgerEngine::CheckServed(absl::string_view code, absl::string_view field) const {
  for (const Currency& currency : currencies_) {
    if (currency.code == code) return absl::OkStatus();
  }
  std::vector<absl::string_view> served;
  for (const Currency& currency : currencies_) served.push_back(currency.code);
  if (code.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  return absl::InvalidArgumentError(absl::StrCat(field, " ", QuoteForMessage(code),
                                                 " is not served by this ledger, which serves ",
                                                 absl::StrJoin(served, ", ")));
}

absl::Status LedgerEngine::EnsurePositionAccounts() {
  for (const Currency& currency : currencies_) {
    RETURN_IF_ERROR(
        store_.Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
          const std::string id = PositionAccountId(currency.code);
          ASSIGN_OR_RETURN(std::optional<AccountRow> existing, transaction.LockAccount(id));
          if (existing) return Completion::kRollback;
          const int64_t now_us = NowMicros();
          AccountRow position{.account_id = id,
                              .currency = currency.code,
                              .kind = AccountKind::kPosition,
                              .owner = "bank",
                              .created_at_us = now_us,
                              .updated_at_us = now_us};
          RETURN_IF_ERROR(transaction.InsertAccount(position));
          return Completion::kCommit;
        }));
  }
  return absl::OkStatus();
}

absl::Status LedgerEngine::Try(const v1::TryRequest& request, v1::BranchResponse* response) {
  ASSIGN_OR_RETURN(BranchKey key, ValidateBranch(request.branch()));
  RETURN_IF_ERROR(ValidateAccountId(request.debit_account_id(), "debit_account_id"));
  RETURN_IF_ERROR(ValidateAccountId(request.credit_account_id(), "credit_account_id"));
  if (request.debit_account_id() == request.credit_account_id()) {
    return absl::InvalidArgumentError(
        absl::StrCat("debit_account_id and credit_account_id are both ", request.debit_account_id(),
                     "; a transfer needs two accounts"));
  }
  RETURN_IF_ERROR(ValidateAmountMinor(request.amount().amount_minor(), "amount.amount_minor"));
  RETURN_IF_ERROR(CheckServed(request.amount().currency(), "amount.currency"));
  // Owners are customer ids: the same rule for both.
  RETURN_IF_ERROR(ValidateKey(request.customer_id(), "customer_id", limits::kOwnerLengthMax));
  const int64_t amount = request.amount().amount_minor();
  const std::string& currency = request.amount().currency();

  return store_.Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
    response->Clear();
    const int64_t now_us = NowMicros();
    // The Try barrier row is the branch's lock: a concurrent Try or Cancel of the same branch waits
    // on it and then sees this transaction's outcome.
    ASSIGN_OR_RETURN(bool first,
                     transaction.InsertBarrier(key, BarrierOp::kTry, BarrierOp::kTry, now_us));
    if (!first) {
      ASSIGN_OR_RETURN(std::optional<BarrierOp> writer,
                       transaction.BarrierWriter(key, BarrierOp::kTry));
      if (writer == BarrierOp::kCancel) {
        Reject(response, v1::REJECT_REASON_REJECTED_AFTER_CANCEL,
               "this branch was cancelled before it was tried; the Try is refused");
        return Completion::kRollback;
      }
      ASSIGN_OR_RETURN(std::optional<HoldRow> hold, transaction.LockHold(key));
      if (!hold) return MissingHold(key);
      if (hold->debit_account_id != request.debit_account_id() ||
          hold->credit_account_id != request.credit_account_id() || hold->amount_minor != amount ||
          hold->currency != currency) {
        Reject(response, v1::REJECT_REASON_REQUEST_MISMATCH,
               absl::StrCat("this branch was already tried as ", hold->amount_minor, " ",
                            hold->currency, " from ", hold->debit_account_id, " to ",
                            hold->credit_account_id, "; a Try with different content is refused"));
        *response->mutable_hold() = HoldToProto(*hold);
        return Completion::kRollback;
      }
      response->set_outcome(v1::OUTCOME_DUPLICATE);
      *response->mutable_hold() = HoldToProto(*hold);
      return Completion::kRollback;
    }

    std::optional<AccountRow> debit, credit;
    RETURN_IF_ERROR(LockPair(transaction, request.debit_account_id(), request.credit_account_id(),
                             &debit, &credit));
    const std::pair<std::optional<AccountRow>*, const std::string*> sides[] = {
        {&debit, &request.debit_account_id()}, {&credit, &request.credit_account_id()}};
    for (const auto& [account, id] : sides) {
      if (!*account) {
        Reject(response, v1::REJECT_REASON_ACCOUNT_NOT_FOUND, absl::StrCat("no account ", *id));
        return Completion::kRollback;
      }
      // Money moves only between the customer's own accounts and the bank's position. Checked
      // before anything else about the account, so its state is not told to a stranger.
      if ((*account)->kind != AccountKind::kPosition &&
          (*account)->owner != request.customer_id()) {
        Reject(response, v1::REJECT_REASON_NOT_OWNER,
               absl::StrCat("account ", *id, " is not an account of customer ",
                            request.customer_id()));
        return Completion::kRollback;
      }
      if ((*account)->currency != currency) {
        Reject(response, v1::REJECT_REASON_CURRENCY_MISMATCH,
               absl::StrCat("account ", *id, " holds ", (*account)->currency, ", not ", currency));
        return Completion::kRollback;
      }
      if ((*account)->frozen) {
        Reject(response, v1::REJECT_REASON_ACCOUNT_FROZEN,
               absl::StrCat("account ", *id, " is frozen"));
        return Completion::kRollback;
      }
    }
    if (debit->available_minor < amount) {
      Reject(response, v1::REJECT_REASON_INSUFFICIENT_FUNDS,
             absl::StrCat("account ", debit->account_id, " has ", debit->available_minor, " ",
                          currency, " available; ", amount, " requested"));
      return Completion::kRollback;
    }
    // The credit account's balances together must stay representable once this posts.
    std::optional<int64_t> credit_total = CheckedAdd(credit->available_minor, credit->held_minor);
    if (credit_total) credit_total = CheckedAdd(*credit_total, credit->incoming_minor);
    if (credit_total) credit_total = CheckedAdd(*credit_total, amount);
    if (!credit_total) {
      Reject(response, v1::REJECT_REASON_BALANCE_OVERFLOW,
             absl::StrCat("crediting ", amount, " would overflow account ", credit->account_id));
      return Completion::kRollback;
    }

    debit->available_minor -= amount;
    debit->held_minor += amount;
    credit->incoming_minor += amount;
    debit->updated_at_us = credit->updated_at_us = now_us;
    CheckBalances(*debit);
    CheckBalances(*credit);
    HoldRow hold{.branch = key,
                 .debit_account_id = debit->account_id,
                 .credit_account_id = credit->account_id,
                 .currency = currency,
                 .amount_minor = amount,
                 .state = HoldState::kHeld,
                 .created_at_us = now_us,
                 .updated_at_us = now_us};
    RETURN_IF_ERROR(transaction.UpdateAccount(*debit));
    RETURN_IF_ERROR(transaction.UpdateAccount(*credit));
    RETURN_IF_ERROR(transaction.InsertHold(hold));
    response->set_outcome(v1::OUTCOME_APPLIED);
    *response->mutable_hold() = HoldToProto(hold);
    return Completion::kCommit;
  });
}

absl::Status LedgerEngine::Confirm(const v1::BranchRequest& request, v1::BranchResponse* response) {
  ASSIGN_OR_RETURN(BranchKey key, ValidateBranch(request.branch()));
  return store_.Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
    response->Clear();
    const int64_t now_us = NowMicros();
    ASSIGN_OR_RETURN(bool first, transaction.InsertBarrier(key, BarrierOp::kConfirm,
                                                           BarrierOp::kConfirm, now_us));
    ASSIGN_OR_RETURN(std::optional<HoldRow> hold, transaction.LockHold(key));
    if (!first) {
      if (!hold) return MissingHold(key);
      response->set_outcome(v1::OUTCOME_DUPLICATE);
      *response->mutable_hold() = HoldToProto(*hold);
      return Completion::kRollback;
    }
    if (!hold) {
      ASSIGN_OR_RETURN(std::optional<BarrierOp> writer,
                       transaction.BarrierWriter(key, BarrierOp::kTry));
      if (writer == BarrierOp::kCancel) {
        Reject(response, v1::REJECT_REASON_BRANCH_CANCELLED,
               "this branch was cancelled before it was tried; there is nothing to confirm");
      } else {
        Reject(response, v1::REJECT_REASON_BRANCH_NOT_TRIED,
               "this branch has no successful Try; there is nothing to confirm");
      }
      return Completion::kRollback;
    }
    if (hold->state == HoldState::kCancelled) {
      Reject(response, v1::REJECT_REASON_BRANCH_CANCELLED,
             "this branch was cancelled; its hold can no longer be confirmed");
      *response->mutable_hold() = HoldToProto(*hold);
      return Completion::kRollback;
    }
    FXMESH_CHECK(hold->state == HoldState::kHeld, "a confirmed hold without a Confirm barrier");

    RETURN_IF_ERROR(SettleHold(transaction, *hold, HoldState::kConfirmed, now_us));
    RETURN_IF_ERROR(
        transaction.AppendJournal(JournalRow{.kind = JournalKind::kTransfer,
                                             .debit_account_id = hold->debit_account_id,
                                             .credit_account_id = hold->credit_account_id,
                                             .currency = hold->currency,
                                             .amount_minor = hold->amount_minor,
                                             .branch = key,
                                             .posted_at_us = now_us}));
    response->set_outcome(v1::OUTCOME_APPLIED);
    *response->mutable_hold() = HoldToProto(*hold);
    return Completion::kCommit;
  });
}

absl::Status LedgerEngine::Cancel(const v1::BranchRequest& request, v1::BranchResponse* response) {
  ASSIGN_OR_RETURN(BranchKey key, ValidateBranch(request.branch()));
  return store_.Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
    response->Clear();
    const int64_t now_us = NowMicros();
    ASSIGN_OR_RETURN(
        bool first, transaction.InsertBarrier(key, BarrierOp::kCancel, BarrierOp::kCancel, now_us));
    if (!first) {
      ASSIGN_OR_RETURN(std::optional<HoldRow> hold, transaction.LockHold(key));
      response->set_outcome(v1::OUTCOME_DUPLICATE);
      if (hold) *response->mutable_hold() = HoldToProto(*hold);
      return Completion::kRollback;
    }
    // Writing the Try row on the Try's behalf both detects a Try (the row exists) and, when there
    // was none, makes any later Try of this branch fail: the anti-hanging rule.
    ASSIGN_OR_RETURN(bool untried,
                     transaction.InsertBarrier(key, BarrierOp::kTry, BarrierOp::kCancel, now_us));
    if (untried) {
      response->set_outcome(v1::OUTCOME_NULL_COMPENSATION);
      response->set_detail("no Try was recorded for this branch; any later Try will be refused");
      return Completion::kCommit;
    }
    ASSIGN_OR_RETURN(std::optional<HoldRow> hold, transaction.LockHold(key));
    if (!hold) return MissingHold(key);
    if (hold->state == HoldState::kConfirmed) {
      Reject(response, v1::REJECT_REASON_BRANCH_CONFIRMED,
             "this branch was confirmed; a confirmed posting is never rolled back");
      *response->mutable_hold() = HoldToProto(*hold);
      return Completion::kRollback;
    }
    FXMESH_CHECK(hold->state == HoldState::kHeld, "a cancelled hold without a Cancel barrier");

    RETURN_IF_ERROR(SettleHold(transaction, *hold, HoldState::kCancelled, now_us));
    response->set_outcome(v1::OUTCOME_APPLIED);
    *response->mutable_hold() = HoldToProto(*hold);
    return Completion::kCommit;
  });
}

absl::Status LedgerEngine::OpenAccount(const v1::OpenAccountRequest& request,
                                       v1::AccountResponse* response) {
  RETURN_IF_ERROR(ValidateAccountId(request.account_id(), "account_id"));
  if (absl::StartsWith(request.account_id(), kPositionPrefix) ||
      request.account_id() == kExternalAccount) {
    return absl::InvalidArgumentError(absl::StrCat("account_id ", request.account_id(),
                                                   " is reserved for the bank's own accounts"));
  }
  RETURN_IF_ERROR(CheckServed(request.currency(), "currency"));
  if (!request.owner().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.owner(), "owner", limits::kOwnerLengthMax));
  }
  return store_.Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
    response->Clear();
    ASSIGN_OR_RETURN(std::optional<AccountRow> existing,
                     transaction.LockAccount(request.account_id()));
    if (existing) {
      *response->mutable_account() = AccountToProto(*existing);
      if (existing->currency != request.currency() || existing->owner != request.owner()) {
        Reject(response, v1::REJECT_REASON_REQUEST_MISMATCH,
               absl::StrCat("account ", existing->account_id, " already exists in ",
                            existing->currency, " for owner '", existing->owner, "'"));
      } else {
        response->set_outcome(v1::OUTCOME_DUPLICATE);
      }
      return Completion::kRollback;
    }
    const int64_t now_us = NowMicros();
    AccountRow account{.account_id = request.account_id(),
                       .currency = request.currency(),
                       .kind = AccountKind::kCustomer,
                       .owner = request.owner(),
                       .created_at_us = now_us,
                       .updated_at_us = now_us};
    RETURN_IF_ERROR(transaction.InsertAccount(account));
    response->set_outcome(v1::OUTCOME_APPLIED);
    *response->mutable_account() = AccountToProto(account);
    return Completion::kCommit;
  });
}

absl::Status LedgerEngine::GetAccount(const v1::GetAccountRequest& request, v1::Account* response) {
  RETURN_IF_ERROR(ValidateAccountId(request.account_id(), "account_id"));
  ASSIGN_OR_RETURN(std::optional<AccountRow> account, store_.GetAccount(request.account_id()));
  if (!account) return absl::NotFoundError(absl::StrCat("no account ", request.account_id()));
  *response = AccountToProto(*account);
  return absl::OkStatus();
}

absl::Status LedgerEngine::SetAccountFrozen(const v1::SetAccountFrozenRequest& request,
                                            v1::AccountResponse* response) {
  RETURN_IF_ERROR(ValidateAccountId(request.account_id(), "account_id"));
  return store_.Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
    response->Clear();
    ASSIGN_OR_RETURN(std::optional<AccountRow> account,
                     transaction.LockAccount(request.account_id()));
    if (!account) {
      Reject(response, v1::REJECT_REASON_ACCOUNT_NOT_FOUND,
             absl::StrCat("no account ", request.account_id()));
      return Completion::kRollback;
    }
    if (account->frozen == request.frozen()) {
      response->set_outcome(v1::OUTCOME_DUPLICATE);
      *response->mutable_account() = AccountToProto(*account);
      return Completion::kRollback;
    }
    account->frozen = request.frozen();
    account->updated_at_us = NowMicros();
    RETURN_IF_ERROR(transaction.UpdateAccount(*account));
    response->set_outcome(v1::OUTCOME_APPLIED);
    *response->mutable_account() = AccountToProto(*account);
    return Completion::kCommit;
  });
}

absl::Status LedgerEngine::Deposit(const v1::ExternalTransferRequest& request,
                                   v1::ExternalTransferResponse* response) {
  return ExternalTransfer(JournalKind::kDeposit, request, response);
}

absl::Status LedgerEngine::Withdraw(const v1::ExternalTransferRequest& request,
                                    v1::ExternalTransferResponse* response) {
  return ExternalTransfer(JournalKind::kWithdrawal, request, response);
}

absl::Status LedgerEngine::ExternalTransfer(JournalKind kind,
                                            const v1::ExternalTransferRequest& request,
                                            v1::ExternalTransferResponse* response) {
  RETURN_IF_ERROR(ValidateKey(request.request_id(), "request_id", limits::kRequestIdLengthMax));
  RETURN_IF_ERROR(ValidateAccountId(request.account_id(), "account_id"));
  RETURN_IF_ERROR(ValidateAmountMinor(request.amount().amount_minor(), "amount.amount_minor"));
  RETURN_IF_ERROR(CheckServed(request.amount().currency(), "amount.currency"));
  const int64_t amount = request.amount().amount_minor();
  const std::string& currency = request.amount().currency();
  const bool deposit = kind == JournalKind::kDeposit;

  return store_.Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
    response->Clear();
    ASSIGN_OR_RETURN(std::optional<ExternalTransferRow> earlier,
                     transaction.FindExternalTransfer(request.request_id()));
    if (earlier) {
      if (earlier->kind != kind || earlier->account_id != request.account_id() ||
          earlier->amount_minor != amount || earlier->currency != currency) {
        Reject(response, v1::REJECT_REASON_REQUEST_MISMATCH,
               absl::StrCat("request_id ", request.request_id(), " was already used for a ",
                            earlier->kind == JournalKind::kDeposit ? "deposit" : "withdrawal",
                            " of ", earlier->amount_minor, " ", earlier->currency, " on ",
                            earlier->account_id));
        return Completion::kRollback;
      }
      response->set_outcome(v1::OUTCOME_DUPLICATE);
      ASSIGN_OR_RETURN(std::optional<AccountRow> account,
                       transaction.LockAccount(earlier->account_id));
      if (account) *response->mutable_account() = AccountToProto(*account);
      return Completion::kRollback;
    }
    ASSIGN_OR_RETURN(std::optional<AccountRow> account,
                     transaction.LockAccount(request.account_id()));
    if (!account) {
      Reject(response, v1::REJECT_REASON_ACCOUNT_NOT_FOUND,
             absl::StrCat("no account ", request.account_id()));
      return Completion::kRollback;
    }
    *response->mutable_account() = AccountToProto(*account);
    if (account->currency != currency) {
      Reject(response, v1::REJECT_REASON_CURRENCY_MISMATCH,
             absl::StrCat("account ", account->account_id, " holds ", account->currency, ", not ",
                          currency));
      return Completion::kRollback;
    }
    if (account->frozen) {
      Reject(response, v1::REJECT_REASON_ACCOUNT_FROZEN,
             absl::StrCat("account ", account->account_id, " is frozen"));
      return Completion::kRollback;
    }
    if (deposit) {
      std::optional<int64_t> total = CheckedAdd(account->available_minor, account->held_minor);
      if (total) total = CheckedAdd(*total, account->incoming_minor);
      if (total) total = CheckedAdd(*total, amount);
      if (!total) {
        Reject(
            response, v1::REJECT_REASON_BALANCE_OVERFLOW,
            absl::StrCat("depositing ", amount, " would overflow account ", account->account_id));
        return Completion::kRollback;
      }
      account->available_minor += amount;
    } else {
      if (account->available_minor < amount) {
        Reject(response, v1::REJECT_REASON_INSUFFICIENT_FUNDS,
               absl::StrCat("account ", account->account_id, " has ", account->available_minor, " ",
                            currency, " available; ", amount, " requested"));
        return Completion::kRollback;
      }
      account->available_minor -= amount;
    }
    const int64_t now_us = NowMicros();
    account->updated_at_us = now_us;
    CheckBalances(*account);
    RETURN_IF_ERROR(transaction.UpdateAccount(*account));
    RETURN_IF_ERROR(transaction.InsertExternalTransfer(ExternalTransferRow{
        request.request_id(), kind, account->account_id, currency, amount, now_us}));
    RETURN_IF_ERROR(transaction.AppendJournal(JournalRow{
        .kind = kind,
        .debit_account_id = deposit ? std::string(kExternalAccount) : account->account_id,
        .credit_account_id = deposit ? account->account_id : std::string(kExternalAccount),
        .currency = currency,
        .amount_minor = amount,
        .request_id = request.request_id(),
        .posted_at_us = now_us}));
    response->set_outcome(v1::OUTCOME_APPLIED);
    *response->mutable_account() = AccountToProto(*account);
    return Completion::kCommit;
  });
}

absl::Status LedgerEngine::ListHolds(const v1::ListHoldsRequest& request,
                                     v1::ListHoldsResponse* response) {
  HoldFilter filter;
  if (request.state() != v1::HOLD_STATE_UNSPECIFIED) {
    if (!v1::HoldState_IsValid(request.state())) {
      return absl::InvalidArgumentError(
          absl::StrCat("state ", request.state(), " is not a hold state"));
    }
    filter.state = static_cast<HoldState>(request.state());
  }
  if (!request.account_id().empty())
    RETURN_IF_ERROR(ValidateAccountId(request.account_id(), "account_id"));
  if (!request.saga_id().empty()) RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  if (request.older_than_seconds() < 0) {
    return absl::InvalidArgumentError("older_than_seconds must not be negative");
  }
  if (request.older_than_seconds() > 0) {
    // In absl::Time, which saturates: an age beyond any clock is the infinite past, not an
    // overflow that wraps around into the future.
    filter.created_at_or_before_us =
        absl::ToUnixMicros(clock_.Now() - absl::Seconds(request.older_than_seconds()));
  }
  filter.account_id = request.account_id();
  filter.saga_id = request.saga_id();
  ASSIGN_OR_RETURN(filter.after_hold_id, ParsePageToken(request.page_token()));
  ASSIGN_OR_RETURN(filter.limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(std::vector<HoldRow> holds, store_.ListHolds(filter));
  response->Clear();
  for (const HoldRow& hold : holds) *response->add_holds() = HoldToProto(hold);
  if (static_cast<int>(holds.size()) == filter.limit) {
    response->set_next_page_token(absl::StrCat(holds.back().hold_id));
  }
  return absl::OkStatus();
}

absl::Status LedgerEngine::ListJournal(const v1::ListJournalRequest& request,
                                       v1::ListJournalResponse* response) {
  JournalFilter filter;
  if (!request.account_id().empty())
    RETURN_IF_ERROR(ValidateAccountId(request.account_id(), "account_id"));
  if (!request.saga_id().empty()) RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  filter.account_id = request.account_id();
  filter.saga_id = request.saga_id();
  ASSIGN_OR_RETURN(filter.after_entry_id, ParsePageToken(request.page_token()));
  ASSIGN_OR_RETURN(filter.limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(std::vector<JournalRow> entries, store_.ListJournal(filter));
  response->Clear();
  for (const JournalRow& entry : entries) *response->add_entries() = JournalToProto(entry);
  if (static_cast<int>(entries.size()) == filter.limit) {
    response->set_next_page_token(absl::StrCat(entries.back().entry_id));
  }
  return absl::OkStatus();
}

bool CurrencyBalances(const v1::CurrencyTotals& totals) {
  return totals.available_minor() + totals.held_minor() ==
             totals.deposited_minor() - totals.withdrawn_minor() &&
         totals.incoming_minor() == totals.open_credit_holds_minor();
}

absl::Status LedgerEngine::GetBalanceSheet(v1::BalanceSheet* response) {
  ASSIGN_OR_RETURN(std::vector<CurrencyTotalsRow> totals, store_.GetCurrencyTotals());
  response->Clear();
  bool balanced = true;
  for (const CurrencyTotalsRow& row : totals) {
    v1::CurrencyTotals* currency = response->add_currencies();
    currency->set_currency(row.currency);
    currency->set_available_minor(row.available_minor);
    currency->set_held_minor(row.held_minor);
    currency->set_incoming_minor(row.incoming_minor);
    currency->set_deposited_minor(row.deposited_minor);
    currency->set_withdrawn_minor(row.withdrawn_minor);
    currency->set_open_credit_holds_minor(row.open_credit_holds_minor);
    currency->set_open_hold_count(row.open_hold_count);
    currency->set_account_count(row.account_count);
    balanced = balanced && CurrencyBalances(*currency);
  }
  response->set_balanced(balanced);
  return absl::OkStatus();
}

}  // namespace fxmesh::ledger
