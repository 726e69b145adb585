#include "cli/internal/command_support.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/views.h"
#include "common/ids.h"

namespace fxmesh::cli::internal {

Service LedgerFor(const Currency& currency) {
  return currency.code == "KRW" ? Service::kKrwLedger : Service::kFxLedger;
}

std::string NewClientKey() { return absl::StrCat("cli-", NewSagaId()); }

absl::StatusOr<int64_t> ParseCount(absl::string_view text, absl::string_view what, bool positive) {
  int64_t value = 0;
  // SimpleAtoi accepts a sign and surrounding spaces; an id or a count has neither.
  const bool digits_only = !text.empty() && text.find_first_not_of("0123456789") == text.npos;
  if (!digits_only || !absl::SimpleAtoi(text, &value) || (positive && value == 0)) {
    return UsageError(absl::StrCat(what, " must be a whole number", positive ? " above 0" : "",
                                   ", got '", text, "'"));
  }
  return value;
}

absl::StatusOr<int> ParseLimit(const CommandLine& line) {
  if (!line.Has("limit")) return limits::kCliListLimitDefault;
  absl::StatusOr<int64_t> limit = ParseCount(line.Get("limit"), "--limit", /*positive=*/true);
  if (!limit.ok()) return limit.status();
  if (*limit > limits::kCliListLimitMax) {
    return UsageError(absl::StrCat("--limit is at most ", limits::kCliListLimitMax));
  }
  return static_cast<int>(*limit);
}

void PrintListFooter(Printer& printer, int shown, bool more, absl::string_view singular,
                     absl::string_view plural) {
  const absl::string_view noun = shown == 1 ? singular : plural;
  if (more) {
    printer.Text(absl::StrCat("\nshowing the first ", shown, " ", noun,
                              "; more match (raise --limit to see them)\n"));
  } else {
    printer.Text(absl::StrCat("\n", shown, " ", noun, "\n"));
  }
}

ExitCode ReportExchange(Session& session, const v1::Exchange& exchange) {
  Printer& printer = session.printer();
  printer.Print(ExchangeFields(exchange));
  switch (exchange.status()) {
    case v1::EXCHANGE_STATUS_COMPLETED:
      return ExitCode::kOk;
    case v1::EXCHANGE_STATUS_FAILED:
      printer.Error(
          absl::StrCat("exchange ", exchange.saga_id(), " FAILED: ", exchange.failure_reason(),
                       exchange.failure_detail().empty() ? "" : ": ", exchange.failure_detail()));
      return ExitCode::kFailed;
    default:
      // Not final within the deadline: the saga goes on, so the way forward is to follow it.
      printer.Note(absl::StrCat("exchange ", exchange.saga_id(),
                                " is still PENDING; follow it with: fxmesh watch ",
                                exchange.saga_id()));
      return ExitCode::kPending;
  }
}

ExitCode ReportLedgerOutcome(Session& session, Service ledger, absl::string_view action,
                             v1::Outcome outcome, v1::RejectReason reason,
                             const std::string& detail) {
  if (outcome == v1::OUTCOME_APPLIED || outcome == v1::OUTCOME_DUPLICATE) return ExitCode::kOk;
  session.printer().Error(absl::StrCat(ServiceName(ledger), " rejected ", action, ": ",
                                       EnumText(v1::RejectReason_descriptor(), reason),
                                       detail.empty() ? "" : ": ", detail));
  return ExitCode::kFailed;
}

}  // namespace fxmesh::cli::internal
