#include "cli/views.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/amount.h"
#include "common/proto_time.h"

namespace fxmesh::cli {
namespace {

// The prefix every value of an enum shares ("SAGA_STATE_"), found from its descriptor so that a
// new enum needs no table here.
std::string EnumPrefix(const google::protobuf::EnumDescriptor* type) {
  std::string prefix = type->value(0)->name();
  for (int i = 1; i < type->value_count(); ++i) {
    const std::string& name = type->value(i)->name();
    size_t common = 0;
    while (common < prefix.size() && common < name.size() && prefix[common] == name[common]) {
      ++common;
    }
    prefix.resize(common);
  }
  // Back to the last '_': SAGA_STATE_C... must not eat the first letters of CREATED/CONFIRMING.
  prefix.resize(prefix.rfind('_') == std::string::npos ? 0 : prefix.rfind('_') + 1);
  return prefix;
}

std::string Or(const std::string& text, absl::string_view fallback = "-") {
  return text.empty() ? std::string(fallback) : text;
}

std::string CallText(v1::CallStatus status) {
  return EnumText(v1::CallStatus_descriptor(), status);
}

Style CallStyle(v1::CallStatus status) {
  switch (status) {
    case v1::CALL_STATUS_APPLIED:
      return Style::kGood;
    case v1::CALL_STATUS_REJECTED:
      return Style::kBad;
    case v1::CALL_STATUS_UNKNOWN:
      return Style::kWarning;
    default:
      return Style::kDim;
  }
}

std::string FailureText(const std::string& reason, const std::string& detail) {
  if (reason.empty()) return Or(detail);
  return detail.empty() ? reason : absl::StrCat(reason, ": ", detail);
}

}  // namespace

std::string EnumText(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* found = type->FindValueByNumber(value);
  if (found == nullptr) return absl::StrCat(value);
  return std::string(absl::StripPrefix(found->name(), EnumPrefix(type)));
}

absl::StatusOr<int> ParseEnumText(const google::protobuf::EnumDescriptor* type,
                                  absl::string_view text, absl::string_view what) {
  const std::string prefix = EnumPrefix(type);
  std::string name = absl::AsciiStrToUpper(absl::StrReplaceAll(text, {{"-", "_"}}));
  if (!absl::StartsWith(name, prefix)) name = absl::StrCat(prefix, name);
  const google::protobuf::EnumValueDescriptor* found = type->FindValueByName(name);
  if (found != nullptr && found->number() != 0) return found->number();
  std::vector<std::string> accepted;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() != 0) accepted.push_back(EnumText(type, type->value(i)->number()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, " '", text, "' is not one of ", absl::StrJoin(accepted, ", ")));
}

std::string MoneyText(const v1::Money& money) {
  if (money.currency().empty()) return "-";
  return FormatAmount(money.amount_minor(), money.currency());
}

std::string TimeText(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", ToTime(timestamp), absl::UTCTimeZone());
}

std::string AgeText(const google::protobuf::Timestamp& timestamp, absl::Time now) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  const int64_t seconds = absl::ToInt64Seconds(now - ToTime(timestamp));
  if (seconds < 0) return "-";
  if (seconds < 60) return absl::StrCat(seconds, "s");
  if (seconds < 3600) return absl::StrCat(seconds / 60, "m", seconds % 60, "s");
  if (seconds < 86400) return absl::StrCat(seconds / 3600, "h", (seconds % 3600) / 60, "m");
  return absl::StrCat(seconds / 86400, "d", (seconds % 86400) / 3600, "h");
}

Style StyleOf(v1::ExchangeStatus status) {
  switch (status) {
    case v1::EXCHANGE_STATUS_COMPLETED:
      return Style::kGood;
    case v1::EXCHANGE_STATUS_FAILED:
      return Style::kBad;
    default:
      return Style::kWarning;
  }
}

Style StyleOf(v1::SagaState state) {
  switch (state) {
    case v1::SAGA_STATE_COMPLETED:
      return Style::kGood;
    case v1::SAGA_STATE_CANCELLED:
    case v1::SAGA_STATE_CANCELLING:
      return Style::kBad;
    default:
      return Style::kWarning;
  }
}

Style StyleOf(v1::Outcome outcome) {
  switch (outcome) {
    case v1::OUTCOME_APPLIED:
    case v1::OUTCOME_DUPLICATE:
      return Style::kGood;
    case v1::OUTCOME_REJECTED:
      return Style::kBad;
    default:
      return Style::kPlain;
  }
}

Fields ExchangeFields(const v1::Exchange& exchange) {
  Fields fields;
  fields.Add("saga id", exchange.saga_id());
  fields.Add("status", Cell(EnumText(v1::ExchangeStatus_descriptor(), exchange.status()),
                            StyleOf(exchange.status())));
  fields.Add("state", Cell(EnumText(v1::SagaState_descriptor(), exchange.state()),
                           StyleOf(exchange.state())));
  fields.Add("sell", MoneyText(exchange.sell()));
  fields.Add("buy", MoneyText(exchange.buy()));
  fields.Add("from", exchange.source_account_id());
  fields.Add("to", exchange.target_account_id());
  fields.Add("customer", exchange.customer_id());
  fields.Add("key", exchange.idempotency_key());
  fields.Add("quote", exchange.quote_id());
  if (!exchange.failure_reason().empty() || !exchange.failure_detail().empty()) {
    fields.Add("failure", Cell(FailureText(exchange.failure_reason(), exchange.failure_detail()),
                               Style::kBad));
  }
  fields.Add("created", TimeText(exchange.created_at()));
  fields.Add("updated", TimeText(exchange.updated_at()));
  return fields;
}

Fields QuoteFields(const v1::Quote& quote, absl::Time now) {
  Fields fields;
  fields.Add("quote id", quote.quote_id());
  fields.Add("sell", MoneyText(quote.sell()));
  fields.Add("buy", MoneyText(quote.buy()));
  const std::string& foreign =
      quote.sell().currency() == "KRW" ? quote.buy().currency() : quote.sell().currency();
  fields.Add("rate", absl::StrCat(quote.rate(), " KRW per ", foreign));
  const int64_t left = absl::ToInt64Seconds(ToTime(quote.expires_at()) - now);
  fields.Add("expires", absl::StrCat(TimeText(quote.expires_at()),
                                     left > 0 ? absl::StrCat(" (in ", left, "s)") : " (expired)"));
  return fields;
}

Fields AccountFields(const v1::Account& account, absl::string_view ledger) {
  Fields fields;
  fields.Add("account", account.account_id());
  fields.Add("ledger", std::string(ledger));
  fields.Add("currency", account.currency());
  fields.Add("kind", EnumText(v1::AccountKind_descriptor(), account.kind()));
  fields.Add("owner", Or(account.owner()));
  fields.Add("available", FormatAmount(account.available_minor(), account.currency()));
  fields.Add("held", FormatAmount(account.held_minor(), account.currency()));
  fields.Add("incoming", FormatAmount(account.incoming_minor(), account.currency()));
  fields.Add("frozen", account.frozen() ? Cell("yes", Style::kBad) : Cell("no"));
  fields.Add("created", TimeText(account.created_at()));
  fields.Add("updated", TimeText(account.updated_at()));
  return fields;
}

Fields SagaFields(const v1::Saga& saga, absl::Time now) {
  Fields fields;
  fields.Add("saga id", saga.saga_id());
  fields.Add("state",
             Cell(EnumText(v1::SagaState_descriptor(), saga.state()), StyleOf(saga.state())));
  fields.Add("customer", saga.customer_id());
  fields.Add("sell", MoneyText(saga.sell()));
  fields.Add("buy", MoneyText(saga.buy()));
  fields.Add("from", Or(saga.source_account_id()));
  fields.Add("to", Or(saga.target_account_id()));
  fields.Add("key", saga.idempotency_key());
  fields.Add("quote", Or(saga.quote_id()));
  if (!saga.failure_reason().empty() || !saga.failure_detail().empty()) {
    fields.Add("failure",
               Cell(FailureText(saga.failure_reason(), saga.failure_detail()), Style::kBad));
  }
  fields.Add("attempt", absl::StrCat(saga.attempt()));
  fields.Add("created", absl::StrCat(TimeText(saga.created_at()), " (",
                                     AgeText(saga.created_at(), now), " ago)"));
  fields.Add("updated", TimeText(saga.updated_at()));
  fields.Add("next attempt", TimeText(saga.next_attempt_at()));
  fields.Add("try deadline", TimeText(saga.try_deadline()));
  std::vector<std::string> flags;
  if (saga.stuck()) flags.push_back("stuck");
  if (saga.waiting_on_paused_participant()) flags.push_back("waiting on a paused participant");
  for (const v1::Branch& branch : saga.branches()) {
    if (!branch.dead_letter().empty())
      flags.push_back(absl::StrCat(branch.branch(), " dead-lettered"));
  }
  if (!flags.empty()) fields.Add("alerts", Cell(absl::StrJoin(flags, ", "), Style::kWarning));
  return fields;
}

Fields AlertFields(const v1::Alerts& alerts) {
  auto counter = [](int64_t value) {
    return Cell(absl::StrCat(value), value > 0 ? Style::kWarning : Style::kPlain);
  };
  Fields fields;
  fields.Add("stuck sagas", counter(alerts.stuck_sagas_size()));
  fields.Add("stuck after", absl::StrCat(alerts.stuck_threshold_seconds(), "s"));
  fields.Add("stuck alerts since start", counter(alerts.stuck_alerts_total()));
  fields.Add("inconsistency alerts since start", counter(alerts.inconsistency_alerts_total()));
  fields.Add("outbox backlog", counter(alerts.outbox_backlog()));
  fields.Add("dead letters pending", counter(alerts.dead_letters_pending()));
  return fields;
}

Fields ResolutionFields(const v1::Resolution& resolution) {
  Fields fields;
  fields.Add("resolution id", absl::StrCat(resolution.resolution_id()));
  fields.Add("saga id", resolution.saga_id());
  fields.Add("action", EnumText(v1::ResolutionAction_descriptor(), resolution.action()));
  fields.Add("reason", resolution.reason_code());
  fields.Add("note", Or(resolution.note()));
  fields.Add("state", Cell(EnumText(v1::ResolutionState_descriptor(), resolution.state()),
                           resolution.state() == v1::RESOLUTION_STATE_APPROVED ? Style::kGood
                                                                               : Style::kWarning));
  fields.Add("proposed",
             absl::StrCat(resolution.proposed_by(), " at ", TimeText(resolution.proposed_at())));
  if (!resolution.approved_by().empty()) {
    fields.Add("approved",
               absl::StrCat(resolution.approved_by(), " at ", TimeText(resolution.approved_at())));
  }
  return fields;
}

Table SagaTable(const google::protobuf::RepeatedPtrField<v1::Saga>& sagas, absl::Time now) {
  Table table({"SAGA ID",
               "STATE",
               "CUSTOMER",
               {"SELL", Align::kRight},
               {"BUY", Align::kRight},
               {"AGE", Align::kRight},
               "ALERTS",
               "FAILURE"});
  for (const v1::Saga& saga : sagas) {
    std::vector<std::string> alerts;
    if (saga.stuck()) alerts.push_back("stuck");
    if (saga.waiting_on_paused_participant()) alerts.push_back("paused");
    for (const v1::Branch& branch : saga.branches()) {
      if (!branch.dead_letter().empty()) alerts.push_back("dead-letter");
    }
    table.AddRow({saga.saga_id(),
                  Cell(EnumText(v1::SagaState_descriptor(), saga.state()), StyleOf(saga.state())),
                  saga.customer_id(), MoneyText(saga.sell()), MoneyText(saga.buy()),
                  AgeText(saga.created_at(), now),
                  Cell(Or(absl::StrJoin(alerts, ",")), Style::kWarning),
                  Or(saga.failure_reason())});
  }
  return table;
}

Table BranchTable(const v1::Saga& saga) {
  Table table({"BRANCH",
               "PARTICIPANT",
               "DEBIT",
               "CREDIT",
               {"AMOUNT", Align::kRight},
               "TRY",
               "CONFIRM",
               "CANCEL",
               {"CALLS", Align::kRight},
               "LAST ERROR"});
  for (const v1::Branch& branch : saga.branches()) {
    std::string error = branch.last_error();
    if (!branch.dead_letter().empty()) error = absl::StrCat("dead letter: ", branch.dead_letter());
    table.AddRow({branch.branch(), branch.participant(), branch.debit_account_id(),
                  branch.credit_account_id(), MoneyText(branch.amount()),
                  Cell(CallText(branch.try_status()), CallStyle(branch.try_status())),
                  Cell(CallText(branch.confirm_status()), CallStyle(branch.confirm_status())),
                  Cell(CallText(branch.cancel_status()), CallStyle(branch.cancel_status())),
                  absl::StrCat(branch.calls()), Or(error)});
  }
  return table;
}

Table StepTable(const google::protobuf::RepeatedPtrField<v1::Step>& steps) {
  Table table({{"#", Align::kRight}, "AT", "TRANSITION", {"ATTEMPT", Align::kRight}, "DETAIL"});
  for (const v1::Step& step : steps) {
    const std::string from = EnumText(v1::SagaState_descriptor(), step.from_state());
    const std::string to = EnumText(v1::SagaState_descriptor(), step.to_state());
    // A step within one state is a retry or an event, not a transition.
    // The first step creates the saga: there is no state before it.
    const std::string transition =
        step.from_state() == step.to_state() || step.from_state() == v1::SAGA_STATE_UNSPECIFIED
            ? to
            : absl::StrCat(from, " → ", to);
    table.AddRow({absl::StrCat(step.step_id()), TimeText(step.at()), transition,
                  absl::StrCat(step.attempt()), Or(step.detail())});
  }
  return table;
}

Table ResolutionTable(const google::protobuf::RepeatedPtrField<v1::Resolution>& resolutions) {
  Table table(
      {{"ID", Align::kRight}, "ACTION", "REASON", "STATE", "PROPOSED BY", "APPROVED BY", "NOTE"});
  for (const v1::Resolution& resolution : resolutions) {
    table.AddRow({absl::StrCat(resolution.resolution_id()),
                  EnumText(v1::ResolutionAction_descriptor(), resolution.action()),
                  resolution.reason_code(),
                  EnumText(v1::ResolutionState_descriptor(), resolution.state()),
                  resolution.proposed_by(), Or(resolution.approved_by()), Or(resolution.note())});
  }
  return table;
}

Table AuditTable(const google::protobuf::RepeatedPtrField<v1::AuditEntry>& entries) {
  Table table({{"ID", Align::kRight}, "AT", "OPERATOR", "ACTION", "SAGA ID", "DETAIL"});
  for (const v1::AuditEntry& entry : entries) {
    table.AddRow({absl::StrCat(entry.audit_id()), TimeText(entry.at()), entry.operator_(),
                  entry.action(), Or(entry.saga_id()), Or(entry.detail())});
  }
  return table;
}

Table ParticipantTable(const google::protobuf::RepeatedPtrField<v1::Participant>& participants) {
  Table table({"PARTICIPANT",
               "ADDRESS",
               "STATE",
               "PAUSED BY",
               "SINCE",
               "REASON",
               {"WAITING SAGAS", Align::kRight}});
  for (const v1::Participant& participant : participants) {
    const bool paused = participant.paused();
    table.AddRow(
        {participant.participant(), Or(participant.address()),
         paused ? Cell("paused", Style::kWarning) : Cell("active", Style::kGood),
         paused ? participant.paused_by() : "-", paused ? TimeText(participant.paused_at()) : "-",
         paused ? Or(participant.pause_reason()) : "-", absl::StrCat(participant.waiting_sagas())});
  }
  return table;
}

Table DeadLetterTable(const google::protobuf::RepeatedPtrField<v1::DeadLetter>& dead_letters) {
  Table table({{"ID", Align::kRight},
               "SAGA ID",
               "COMMAND",
               {"ATTEMPTS", Align::kRight},
               "DEAD-LETTERED",
               "REPLAYED BY",
               "ERROR"});
  for (const v1::DeadLetter& dead_letter : dead_letters) {
    std::string command = "(not a BranchCommand)";
    if (dead_letter.has_command()) {
      const v1::BranchCommand& parsed = dead_letter.command();
      command = absl::StrCat(EnumText(v1::BranchOp_descriptor(), parsed.op()), " ",
                             parsed.branch().branch(), " on ", parsed.participant());
    }
    table.AddRow({absl::StrCat(dead_letter.dead_letter_id()), Or(dead_letter.saga_id()), command,
                  absl::StrCat(dead_letter.attempts()), TimeText(dead_letter.dead_lettered_at()),
                  dead_letter.replayed_by().empty() ? Cell("pending", Style::kWarning)
                                                    : Cell(dead_letter.replayed_by()),
                  Or(dead_letter.error())});
  }
  return table;
}

Table HoldTable() {
  return Table({"LEDGER",
                "SAGA ID",
                "BRANCH",
                "DEBIT",
                "CREDIT",
                {"AMOUNT", Align::kRight},
                "STATE",
                {"AGE", Align::kRight}});
}

void AddHoldRows(Table& table, const google::protobuf::RepeatedPtrField<v1::Hold>& holds,
                 absl::string_view ledger, absl::Time now) {
  for (const v1::Hold& hold : holds) {
    const Style style = hold.state() == v1::HOLD_STATE_HELD ? Style::kWarning : Style::kPlain;
    table.AddRow({std::string(ledger), hold.branch().saga_id(), hold.branch().branch(),
                  hold.debit_account_id(), hold.credit_account_id(), MoneyText(hold.amount()),
                  Cell(EnumText(v1::HoldState_descriptor(), hold.state()), style),
                  AgeText(hold.created_at(), now)});
  }
}

bool CurrencyBalances(const v1::CurrencyTotals& totals) {
  // The sums are of per-request amounts bounded by limits::kAmountMinorMax, far from overflow.
  return totals.available_minor() + totals.held_minor() ==
             totals.deposited_minor() - totals.withdrawn_minor() &&
         totals.incoming_minor() == totals.open_credit_holds_minor();
}

Table BalanceSheetTable(const v1::BalanceSheet& sheet) {
  Table table({"CURRENCY",
               {"ACCOUNTS", Align::kRight},
               {"AVAILABLE", Align::kRight},
               {"HELD", Align::kRight},
               {"INCOMING", Align::kRight},
               {"DEPOSITED", Align::kRight},
               {"WITHDRAWN", Align::kRight},
               {"OPEN HOLDS", Align::kRight},
               "CHECK"});
  for (const v1::CurrencyTotals& totals : sheet.currencies()) {
    auto amount = [&](int64_t minor) { return FormatAmount(minor, totals.currency()); };
    const bool balanced = CurrencyBalances(totals);
    table.AddRow({totals.currency(), absl::StrCat(totals.account_count()),
                  amount(totals.available_minor()), amount(totals.held_minor()),
                  amount(totals.incoming_minor()), amount(totals.deposited_minor()),
                  amount(totals.withdrawn_minor()), absl::StrCat(totals.open_hold_count()),
                  balanced ? Cell("balanced", Style::kGood) : Cell("OUT OF BALANCE", Style::kBad)});
  }
  return table;
}

}  // namespace fxmesh::cli
