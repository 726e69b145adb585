// Fuzzes the ledger's request validation through LedgerEngine itself, over a store that records
// whether it was reached: a request the spec written out again here refuses must be refused with
// INVALID_ARGUMENT before any storage is touched, and one it allows must reach the store. What
// reaches a listing is checked too: a page is 1 to limits::kListPageSizeMax rows, and "holds older
// than N seconds" never asks for holds created after now.
//
// Input: the first line names the call (try, confirm, cancel, open, get, freeze, deposit,
// withdraw, holds, journal), then one line per field in the order read below (C escapes allowed).
// The ledger serves KRW and USD.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/money.h"
#include "ledger/ledger_engine.h"
#include "ledger/ledger_store.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/fake_clock.h"

namespace fxmesh::fuzz {
namespace {

using ledger::HoldFilter;
using ledger::JournalFilter;

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

// Every call answers UNAVAILABLE after noting that it was made: validation is all that runs.
class RecordingStore final : public ledger::LedgerStore {
 public:
  bool reached = false;
  std::optional<HoldFilter> holds;
  std::optional<JournalFilter> journal;

  absl::Status Migrate() override { return Reached(); }
  absl::Status Transact(
      absl::FunctionRef<absl::StatusOr<Completion>(ledger::LedgerTransaction&)>) override {
    return Reached();
  }
  absl::StatusOr<std::optional<ledger::AccountRow>> GetAccount(absl::string_view) override {
    return Reached();
  }
  absl::StatusOr<std::vector<ledger::HoldRow>> ListHolds(const HoldFilter& filter) override {
    holds = filter;
    return Reached();
  }
  absl::StatusOr<int64_t> CountHolds(ledger::HoldState, int64_t) override { return Reached(); }
  absl::StatusOr<std::vector<ledger::JournalRow>> ListJournal(
      const JournalFilter& filter) override {
    journal = filter;
    return Reached();
  }
  absl::StatusOr<std::vector<ledger::CurrencyTotalsRow>> GetCurrencyTotals() override {
    return Reached();
  }
  absl::Status Ping() override { return Reached(); }

 private:
  absl::Status Reached() {
    reached = true;
    return absl::UnavailableError("the fuzz store is never available");
  }
};

// --- The spec, written out again ----------------------------------------------------------------

bool KeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}
bool Key(const std::string& key, size_t length_max) {
  if (key.empty() || key.size() > length_max) return false;
  for (char c : key) {
    if (!KeyChar(c)) return false;
  }
  return true;
}
bool Account(const std::string& id) { return Key(id, limits::kAccountIdLengthMax); }
bool SagaId(const std::string& id) {
  if (id.size() != 32 || id == std::string(32, '0')) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
bool Branch(const v1::BranchRef& ref) {
  const std::string& name = ref.branch();
  if (!SagaId(ref.saga_id()) || name.empty() || name.size() > 32) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}
bool Amount(const v1::Money& money) {
  return money.amount_minor() > 0 && money.amount_minor() <= limits::kAmountMinorMax &&
         (money.currency() == "KRW" || money.currency() == "USD");
}
bool PageToken(const std::string& token) {
  if (token.empty()) return true;
  int64_t after = 0;
  return absl::SimpleAtoi(token, &after) && after >= 0;
}

void ReadBranch(Lines& lines, v1::BranchRef* branch) {
  branch->set_saga_id(lines.Text());
  branch->set_branch(lines.Text());
}
void ReadMoney(Lines& lines, v1::Money* money) {
  money->set_amount_minor(lines.Int());
  money->set_currency(lines.Text());
}

// The verdict of one call against the spec's.
void Check(const absl::Status& status, const RecordingStore& store, bool valid,
           absl::string_view call) {
  if (valid) {
    FUZZ_CHECK(store.reached && absl::IsUnavailable(status),
               absl::StrCat(call, ": a valid request was refused: ", status.ToString()));
    return;
  }
  FUZZ_CHECK(!store.reached, absl::StrCat(call, ": an invalid request reached the store"));
  FUZZ_CHECK(absl::IsInvalidArgument(status),
             absl::StrCat(call, ": refused with ", status.ToString()));
  FUZZ_CHECK(!status.message().empty(), call);
}

void CheckPage(int limit, absl::string_view call) {
  FUZZ_CHECK(limit >= 1 && limit <= limits::kListPageSizeMax,
             absl::StrCat(call, ": a page of ", limit, " rows"));
}

}  // namespace

void FuzzOne(const uint8_t* data, size_t size) {
  static const testing::FakeClock* clock = new testing::FakeClock(kNow);
  Lines lines(data, size);
  const std::string call(lines.Raw());
  RecordingStore store;
  ledger::LedgerEngine engine(store, *clock, {*LookupCurrency("KRW"), *LookupCurrency("USD")});
  if (call == "try") {
    v1::TryRequest request;
    ReadBranch(lines, request.mutable_branch());
    request.set_debit_account_id(lines.Text());
    request.set_credit_account_id(lines.Text());
    ReadMoney(lines, request.mutable_amount());
    request.set_customer_id(lines.Text());
    v1::BranchResponse response;
    const bool valid = Branch(request.branch()) && Account(request.debit_account_id()) &&
                       Account(request.credit_account_id()) &&
                       request.debit_account_id() != request.credit_account_id() &&
                       Amount(request.amount()) && Key(request.customer_id(), 128);
    Check(engine.Try(request, &response), store, valid, call);
  } else if (call == "confirm" || call == "cancel") {
    v1::BranchRequest request;
    ReadBranch(lines, request.mutable_branch());
    v1::BranchResponse response;
    Check(
        call == "confirm" ? engine.Confirm(request, &response) : engine.Cancel(request, &response),
        store, Branch(request.branch()), call);
  } else if (call == "open") {
    v1::OpenAccountRequest request;
    request.set_account_id(lines.Text());
    request.set_currency(lines.Text());
    request.set_owner(lines.Text());
    v1::AccountResponse response;
    const bool valid = Account(request.account_id()) &&
                       !absl::StartsWith(request.account_id(), "position:") &&
                       request.account_id() != "external" &&
                       (request.currency() == "KRW" || request.currency() == "USD") &&
                       (request.owner().empty() || Key(request.owner(), 128));
    Check(engine.OpenAccount(request, &response), store, valid, call);
  } else if (call == "get" || call == "freeze") {
    const std::string account_id = lines.Text();
    absl::Status status;
    if (call == "get") {
      v1::GetAccountRequest request;
      request.set_account_id(account_id);
      v1::Account response;
      status = engine.GetAccount(request, &response);
    } else {
      v1::SetAccountFrozenRequest request;
      request.set_account_id(account_id);
      request.set_frozen(true);
      v1::AccountResponse response;
      status = engine.SetAccountFrozen(request, &response);
    }
    Check(status, store, Account(account_id), call);
  } else if (call == "deposit" || call == "withdraw") {
    v1::ExternalTransferRequest request;
    request.set_request_id(lines.Text());
    request.set_account_id(lines.Text());
    ReadMoney(lines, request.mutable_amount());
    v1::ExternalTransferResponse response;
    const bool valid = Key(request.request_id(), limits::kRequestIdLengthMax) &&
                       Account(request.account_id()) && Amount(request.amount());
    Check(call == "deposit" ? engine.Deposit(request, &response)
                            : engine.Withdraw(request, &response),
          store, valid, call);
  } else if (call == "holds") {
    v1::ListHoldsRequest request;
    request.set_state(static_cast<v1::HoldState>(lines.Int()));
    request.set_account_id(lines.Text());
    request.set_saga_id(lines.Text());
    request.set_older_than_seconds(lines.Int());
    request.set_page_size(static_cast<int32_t>(lines.Int()));
    request.set_page_token(lines.Text());
    v1::ListHoldsResponse response;
    const bool valid = request.state() >= 0 && request.state() <= 3 &&
                       (request.account_id().empty() || Account(request.account_id())) &&
                       (request.saga_id().empty() || SagaId(request.saga_id())) &&
                       request.older_than_seconds() >= 0 && request.page_size() >= 0 &&
                       PageToken(request.page_token());
    Check(engine.ListHolds(request, &response), store, valid, call);
    if (valid) {
      CheckPage(store.holds->limit, call);
      if (request.older_than_seconds() > 0) {
        FUZZ_CHECK(store.holds->created_at_or_before_us.has_value() &&
                       *store.holds->created_at_or_before_us <= absl::ToUnixMicros(kNow),
                   absl::StrCat("holds older than ", request.older_than_seconds(),
                                " s asked for holds created up to ",
                                store.holds->created_at_or_before_us.value_or(0), " us"));
      }
    }
  } else if (call == "journal") {
    v1::ListJournalRequest request;
    request.set_account_id(lines.Text());
    request.set_saga_id(lines.Text());
    request.set_page_size(static_cast<int32_t>(lines.Int()));
    request.set_page_token(lines.Text());
    v1::ListJournalResponse response;
    const bool valid = (request.account_id().empty() || Account(request.account_id())) &&
                       (request.saga_id().empty() || SagaId(request.saga_id())) &&
                       request.page_size() >= 0 && PageToken(request.page_token());
    Check(engine.ListJournal(request, &response), store, valid, call);
    if (valid) CheckPage(store.journal->limit, call);
  }
}

}  // namespace fxmesh::fuzz
