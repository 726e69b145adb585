// The operator commands: find and inspect sagas, retry, pause and resolve them, dead letters, and
// the ledgers' reconciliation inputs (balance sheets and holds). Every command that changes
// something takes --operator, which the coordinator writes to its audit log.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/internal/command_support.h"
#include "cli/views.h"
#include "common/status_macros.h"

namespace fxmesh::cli::internal {
namespace {

std::string SagaIdArgument(const CommandLine& line) {
  // Ids print in lower case; accept what a person copies from anywhere.
  return absl::AsciiStrToLower(line.arguments[0]);
}

absl::StatusOr<ExitCode> Sagas(const CommandLine& line, Session& session) {
  v1::ListSagasRequest request;
  if (line.Has("state")) {
    ASSIGN_OR_RETURN(int state, AsUsage(ParseEnumText(v1::SagaState_descriptor(), line.Get("state"),
                                                      "--state")));
    request.set_state(static_cast<v1::SagaState>(state));
  }
  request.set_customer_id(line.Get("customer"));
  request.set_participant(line.Get("participant"));
  request.set_active_only(line.Has("active"));
  if (line.Has("older-than")) {
    ASSIGN_OR_RETURN(int64_t seconds, ParseCount(line.Get("older-than"), "--older-than",
                                                 /*positive=*/false));
    request.set_older_than_seconds(seconds);
  }
  ASSIGN_OR_RETURN(int limit, ParseLimit(line));
  ASSIGN_OR_RETURN(v1::ListSagasResponse sagas,
                   (FetchUpTo<v1::ListSagasRequest, v1::ListSagasResponse, v1::Saga>(
                       session, Service::kCoordinator, "listing sagas", request, limit,
                       &v1::ListSagasResponse::mutable_sagas,
                       [&](grpc::ClientContext& context, const v1::ListSagasRequest& page,
                           v1::ListSagasResponse* response) {
                         return session.ops().ListSagas(&context, page, response);
                       })));
  Printer& printer = session.printer();
  if (sagas.sagas().empty()) {
    printer.Text("No saga matches.\n");
    return ExitCode::kOk;
  }
  printer.Print(SagaTable(sagas.sagas(), absl::Now()));
  PrintListFooter(printer, sagas.sagas_size(), !sagas.next_page_token().empty(), "saga", "sagas");
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> History(const CommandLine& line, Session& session) {
  v1::GetSagaHistoryRequest request;
  request.set_saga_id(SagaIdArgument(line));
  ASSIGN_OR_RETURN(v1::SagaHistory history,
                   Ask<v1::SagaHistory>(session, Service::kCoordinator, "reading the history",
                                        [&](grpc::ClientContext& context, v1::SagaHistory* answer) {
                                          return session.ops().GetSagaHistory(&context, request,
                                                                              answer);
                                        }));
  Printer& printer = session.printer();
  printer.Print(SagaFields(history.saga(), absl::Now()));
  printer.Text("\nBranches\n");
  printer.Print(BranchTable(history.saga()));
  printer.Text("\nSteps\n");
  printer.Print(StepTable(history.steps()));
  if (!history.resolutions().empty()) {
    printer.Text("\nResolutions\n");
    printer.Print(ResolutionTable(history.resolutions()));
  }
  if (!history.audit().empty()) {
    printer.Text("\nAudit\n");
    printer.Print(AuditTable(history.audit()));
  }
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Retry(const CommandLine& line, Session& session) {
  v1::RetrySagaRequest request;
  request.set_saga_id(SagaIdArgument(line));
  request.set_operator_(line.Get("operator"));
  session.SetNoAnswerHint("retrying a saga twice is harmless: repeat the command");
  ASSIGN_OR_RETURN(
      v1::Saga saga,
      Ask<v1::Saga>(session, Service::kCoordinator, "retrying the saga",
                    [&](grpc::ClientContext& context, v1::Saga* answer) {
                      return session.ops(request.operator_()).RetrySaga(&context, request, answer);
                    }));
  Printer& printer = session.printer();
  printer.Text(absl::StrCat("Drove saga ", saga.saga_id(), " now; it is ",
                            EnumText(v1::SagaState_descriptor(), saga.state()), ".\n\n"));
  printer.Print(SagaFields(saga, absl::Now()));
  return ExitCode::kOk;
}

// Pause and resume: both answer with the participant.
absl::StatusOr<ExitCode> SetPaused(const CommandLine& line, Session& session, bool pause) {
  session.SetNoAnswerHint(absl::StrCat(
      "the outcome is unknown; repeating the command is harmless, and 'fxmesh participants' "
      "shows whether ",
      line.arguments[0], " is paused"));
  ASSIGN_OR_RETURN(
      v1::Participant participant,
      Ask<v1::Participant>(
          session, Service::kCoordinator, pause ? "pausing" : "resuming",
          [&](grpc::ClientContext& context, v1::Participant* answer) {
            if (pause) {
              v1::PauseParticipantRequest request;
              request.set_participant(line.arguments[0]);
              request.set_operator_(line.Get("operator"));
              request.set_reason(line.Get("reason"));
              return session.ops(request.operator_()).PauseParticipant(&context, request, answer);
            }
            v1::ResumeParticipantRequest request;
            request.set_participant(line.arguments[0]);
            request.set_operator_(line.Get("operator"));
            return session.ops(request.operator_()).ResumeParticipant(&context, request, answer);
          }));
  Printer& printer = session.printer();
  printer.Text(pause ? absl::StrCat("Paused ", participant.participant(),
                                    ": no call goes to it; its sagas wait, and new exchanges "
                                    "that need it are refused until it is resumed.\n\n")
                     : absl::StrCat("Resumed ", participant.participant(),
                                    ": its waiting sagas go on.\n\n"));
  google::protobuf::RepeatedPtrField<v1::Participant> one;
  *one.Add() = participant;
  printer.Print(ParticipantTable(one));
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Participants(const CommandLine&, Session& session) {
  ASSIGN_OR_RETURN(v1::ListParticipantsResponse response,
                   Ask<v1::ListParticipantsResponse>(
                       session, Service::kCoordinator, "listing participants",
                       [&](grpc::ClientContext& context, v1::ListParticipantsResponse* answer) {
                         return session.ops().ListParticipants(
                             &context, v1::ListParticipantsRequest(), answer);
                       }));
  session.printer().Print(ParticipantTable(response.participants()));
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Propose(const CommandLine& line, Session& session) {
  v1::ProposeResolutionRequest request;
  request.set_saga_id(SagaIdArgument(line));
  ASSIGN_OR_RETURN(int action, AsUsage(ParseEnumText(v1::ResolutionAction_descriptor(),
                                                     line.Get("action"), "--action")));
  request.set_action(static_cast<v1::ResolutionAction>(action));
  request.set_reason_code(line.Get("reason"));
  request.set_note(line.Get("note"));
  request.set_operator_(line.Get("operator"));
  session.SetNoAnswerHint(absl::StrCat(
      "the outcome is unknown: the resolution may or may not have been recorded. Check with "
      "'fxmesh history ",
      request.saga_id(), "' before proposing it again"));
  ASSIGN_OR_RETURN(
      v1::Resolution resolution,
      Ask<v1::Resolution>(
          session, Service::kCoordinator, "proposing the resolution",
          [&](grpc::ClientContext& context, v1::Resolution* answer) {
            return session.ops(request.operator_()).ProposeResolution(&context, request, answer);
          }));
  Printer& printer = session.printer();
  printer.Print(ResolutionFields(resolution));
  printer.Text(absl::StrCat("\nAnother operator approves it with:\n  fxmesh approve ",
                            resolution.resolution_id(), " --operator NAME\n"));
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Approve(const CommandLine& line, Session& session) {
  v1::ApproveResolutionRequest request;
  ASSIGN_OR_RETURN(int64_t id, ParseCount(line.arguments[0], "RESOLUTION_ID", /*positive=*/true));
  request.set_resolution_id(id);
  request.set_operator_(line.Get("operator"));
  session.SetNoAnswerHint(
      "the outcome is unknown; repeating the approval is safe (an approved resolution is not "
      "applied twice)");
  ASSIGN_OR_RETURN(
      v1::Resolution resolution,
      Ask<v1::Resolution>(
          session, Service::kCoordinator, "approving the resolution",
          [&](grpc::ClientContext& context, v1::Resolution* answer) {
            return session.ops(request.operator_()).ApproveResolution(&context, request, answer);
          }));
  session.printer().Print(ResolutionFields(resolution));
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Audit(const CommandLine& line, Session& session) {
  v1::ListAuditRequest request;
  if (!line.arguments.empty()) request.set_saga_id(SagaIdArgument(line));
  ASSIGN_OR_RETURN(int limit, ParseLimit(line));
  ASSIGN_OR_RETURN(v1::ListAuditResponse audit,
                   (FetchUpTo<v1::ListAuditRequest, v1::ListAuditResponse, v1::AuditEntry>(
                       session, Service::kCoordinator, "reading the audit log", request, limit,
                       &v1::ListAuditResponse::mutable_entries,
                       [&](grpc::ClientContext& context, const v1::ListAuditRequest& page,
                           v1::ListAuditResponse* response) {
                         return session.ops().ListAudit(&context, page, response);
                       })));
  Printer& printer = session.printer();
  if (audit.entries().empty()) {
    printer.Text("The audit log has no entries here.\n");
    return ExitCode::kOk;
  }
  printer.Print(AuditTable(audit.entries()));
  PrintListFooter(printer, audit.entries_size(), !audit.next_page_token().empty(), "entry",
                  "entries");
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Alerts(const CommandLine&, Session& session) {
  ASSIGN_OR_RETURN(v1::Alerts alerts,
                   Ask<v1::Alerts>(session, Service::kCoordinator, "reading alerts",
                                   [&](grpc::ClientContext& context, v1::Alerts* answer) {
                                     return session.ops().GetAlerts(&context,
                                                                    v1::GetAlertsRequest(), answer);
                                   }));
  Printer& printer = session.printer();
  printer.Print(AlertFields(alerts));
  if (!alerts.stuck_sagas().empty()) {
    printer.Text("\nStuck sagas ('fxmesh history SAGA_ID' shows why)\n");
    printer.Print(SagaTable(alerts.stuck_sagas(), absl::Now()));
  }
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> DeadLetters(const CommandLine& line, Session& session) {
  v1::ListDeadLettersRequest request;
  request.set_saga_id(absl::AsciiStrToLower(line.Get("saga")));
  request.set_include_replayed(line.Has("all"));
  ASSIGN_OR_RETURN(int limit, ParseLimit(line));
  ASSIGN_OR_RETURN(
      v1::ListDeadLettersResponse listed,
      (FetchUpTo<v1::ListDeadLettersRequest, v1::ListDeadLettersResponse, v1::DeadLetter>(
          session, Service::kCoordinator, "listing dead letters", request, limit,
          &v1::ListDeadLettersResponse::mutable_dead_letters,
          [&](grpc::ClientContext& context, const v1::ListDeadLettersRequest& page,
              v1::ListDeadLettersResponse* response) {
            return session.ops().ListDeadLetters(&context, page, response);
          })));
  Printer& printer = session.printer();
  if (listed.dead_letters().empty()) {
    printer.Text(line.Has("all") ? "No dead letters.\n" : "No dead letter is pending.\n");
    return ExitCode::kOk;
  }
  printer.Print(DeadLetterTable(listed.dead_letters()));
  PrintListFooter(printer, listed.dead_letters_size(), !listed.next_page_token().empty(),
                  "dead letter", "dead letters");
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Replay(const CommandLine& line, Session& session) {
  const int targets =
      (line.arguments.empty() ? 0 : 1) + (line.Has("saga") ? 1 : 0) + (line.Has("all") ? 1 : 0);
  if (targets != 1) {
    return UsageError("say what to replay: one DEAD_LETTER_ID, --saga SAGA_ID or --all");
  }
  v1::ReplayDeadLettersRequest request;
  if (!line.arguments.empty()) {
    ASSIGN_OR_RETURN(int64_t id,
                     ParseCount(line.arguments[0], "DEAD_LETTER_ID", /*positive=*/true));
    request.set_dead_letter_id(id);
  } else if (line.Has("saga")) {
    request.set_saga_id(absl::AsciiStrToLower(line.Get("saga")));
  } else {
    request.set_all(true);
  }
  request.set_operator_(line.Get("operator"));
  request.set_reason(line.Get("reason"));
  session.SetNoAnswerHint(
      "the outcome is unknown: the dead letters may or may not have been replayed. Check with "
      "'fxmesh dead-letters --all' before replaying again");
  ASSIGN_OR_RETURN(
      v1::ReplayDeadLettersResponse response,
      Ask<v1::ReplayDeadLettersResponse>(
          session, Service::kCoordinator, "replaying dead letters",
          [&](grpc::ClientContext& context, v1::ReplayDeadLettersResponse* answer) {
            return session.ops(request.operator_()).ReplayDeadLetters(&context, request, answer);
          }));
  Printer& printer = session.printer();
  if (response.replayed().empty() && response.skipped().empty()) {
    printer.Text("Nothing to replay: no dead letter is pending.\n");
    return ExitCode::kOk;
  }
  if (!response.replayed().empty()) {
    printer.Text(absl::StrCat("Replayed ", response.replayed_size(),
                              " dead letters; each goes through the relay's tiers again.\n"));
    printer.Print(DeadLetterTable(response.replayed()));
  }
  for (const std::string& skipped : response.skipped()) {
    printer.Text(absl::StrCat("skipped: ", skipped, "\n"));
  }
  return ExitCode::kOk;
}

// GetBalanceSheet on both ledgers. A ledger out of balance breaks the conservation invariant
// (ARCHITECTURE.md §8.1): exit 1, so that a scheduled check can alert on it.
absl::StatusOr<ExitCode> Reconcile(const CommandLine&, Session& session) {
  Printer& printer = session.printer();
  ExitCode code = ExitCode::kOk;
  absl::Status unanswered;
  for (Service ledger : {Service::kKrwLedger, Service::kFxLedger}) {
    absl::StatusOr<v1::BalanceSheet> sheet =
        Ask<v1::BalanceSheet>(session, ledger, "reading the balance sheet",
                              [&](grpc::ClientContext& context, v1::BalanceSheet* answer) {
                                return session.ledger(ledger).GetBalanceSheet(
                                    &context, v1::GetBalanceSheetRequest(), answer);
                              });
    if (!sheet.ok()) {
      // The other ledger's sheet is still worth showing; the error is reported at the end.
      if (unanswered.ok()) unanswered = sheet.status();
      continue;
    }
    printer.Text(absl::StrCat(ledger == Service::kKrwLedger ? "" : "\n", ServiceName(ledger), " (",
                              session.Address(ledger), "): ",
                              sheet->balanced() ? printer.Style("balanced", Style::kGood)
                                                : printer.Style("OUT OF BALANCE", Style::kBad),
                              "\n"));
    printer.Print(BalanceSheetTable(*sheet));
    if (!sheet->balanced()) {
      printer.Error(absl::StrCat(ServiceName(ledger),
                                 " is out of balance: for some currency, available + held differs "
                                 "from deposited - withdrawn, or incoming from the open credit "
                                 "holds"));
      code = ExitCode::kFailed;
    }
  }
  // Not knowing whether a ledger balances is worse than knowing it does not.
  if (!unanswered.ok()) return unanswered;
  return code;
}

absl::StatusOr<ExitCode> Holds(const CommandLine& line, Session& session) {
  std::vector<Service> ledgers = {Service::kKrwLedger, Service::kFxLedger};
  if (line.Has("ledger")) {
    const std::string which = absl::AsciiStrToLower(line.Get("ledger"));
    if (which == "krw" || which == "krw-ledger") {
      ledgers = {Service::kKrwLedger};
    } else if (which == "fx" || which == "fx-ledger") {
      ledgers = {Service::kFxLedger};
    } else {
      return UsageError(absl::StrCat("--ledger is krw or fx, got '", line.Get("ledger"), "'"));
    }
  }
  v1::ListHoldsRequest request;
  if (line.Has("state")) {
    ASSIGN_OR_RETURN(int state, AsUsage(ParseEnumText(v1::HoldState_descriptor(), line.Get("state"),
                                                      "--state")));
    request.set_state(static_cast<v1::HoldState>(state));
  }
  request.set_saga_id(absl::AsciiStrToLower(line.Get("saga")));
  request.set_account_id(line.Get("account"));
  if (line.Has("older-than")) {
    ASSIGN_OR_RETURN(int64_t seconds, ParseCount(line.Get("older-than"), "--older-than",
                                                 /*positive=*/false));
    request.set_older_than_seconds(seconds);
  }
  ASSIGN_OR_RETURN(int limit, ParseLimit(line));
  Printer& printer = session.printer();
  // One table for both ledgers (its LEDGER column tells them apart); one JSON line per ledger.
  Table table = HoldTable();
  int shown = 0;
  bool more = false;
  for (Service ledger : ledgers) {
    ASSIGN_OR_RETURN(
        v1::ListHoldsResponse holds,
        (FetchUpTo<v1::ListHoldsRequest, v1::ListHoldsResponse, v1::Hold>(
            session, ledger, "listing holds", request, limit, &v1::ListHoldsResponse::mutable_holds,
            [&](grpc::ClientContext& context, const v1::ListHoldsRequest& page,
                v1::ListHoldsResponse* response) {
              return session.ledger(ledger).ListHolds(&context, page, response);
            })));
    AddHoldRows(table, holds.holds(), ServiceName(ledger), absl::Now());
    shown += holds.holds_size();
    more = more || !holds.next_page_token().empty();
  }
  if (shown == 0) {
    printer.Text("No hold matches.\n");
    return ExitCode::kOk;
  }
  printer.Print(table);
  PrintListFooter(printer, shown, more, "hold", "holds");
  return ExitCode::kOk;
}

OptionSpec OperatorOption() {
  return {"operator", "NAME", "your name, written to the audit log", true};
}

OptionSpec LimitOption(absl::string_view noun) {
  return {"limit", "N", absl::StrCat("show at most N ", noun, " (default 50)")};
}

}  // namespace

std::vector<CommandSpec> OperatorCommands() {
  std::vector<CommandSpec> commands;
  commands.push_back({
      .name = "sagas",
      .options = {{"state", "STATE",
                   "CREATED, TRYING, CONFIRMING, COMPLETED, CANCELLING or CANCELLED"},
                  {"customer", "ID", "one customer's sagas"},
                  {"participant", "NAME", "sagas with a branch on krw-ledger or fx-ledger"},
                  {"active", "", "only sagas that are not final"},
                  {"older-than", "SECONDS", "only sagas created at least this long ago"},
                  LimitOption("sagas")},
      .summary = "list sagas, newest last, with alerts (stuck, paused, dead letter)",
      .example = "fxmesh sagas --active --older-than 300",
      .operator_command = true,
      .run = Sagas,
  });
  commands.push_back({
      .name = "history",
      .arguments = {"SAGA_ID"},
      .summary = "a saga's branches, step log, resolutions and audit entries",
      .example = "fxmesh history 0123456789abcdef0123456789abcdef",
      .operator_command = true,
      .run = History,
  });
  commands.push_back({
      .name = "retry",
      .arguments = {"SAGA_ID"},
      .options = {OperatorOption()},
      .summary = "drive a saga now instead of at its next scheduled attempt",
      .example = "fxmesh retry 0123456789abcdef0123456789abcdef --operator kim",
      .operator_command = true,
      .run = Retry,
  });
  commands.push_back({
      .name = "pause",
      .arguments = {"PARTICIPANT"},
      .options = {OperatorOption(), {"reason", "TEXT", "why, for the audit log", true}},
      .summary = "stop calling a ledger (before maintenance): its sagas wait, nothing fails",
      .example = "fxmesh pause fx-ledger --operator kim --reason 'database upgrade'",
      .operator_command = true,
      .run = [](const CommandLine& line,
                Session& session) { return SetPaused(line, session, /*pause=*/true); },
  });
  commands.push_back({
      .name = "resume",
      .arguments = {"PARTICIPANT"},
      .options = {OperatorOption()},
      .summary = "call a paused ledger again",
      .example = "fxmesh resume fx-ledger --operator kim",
      .operator_command = true,
      .run = [](const CommandLine& line,
                Session& session) { return SetPaused(line, session, /*pause=*/false); },
  });
  commands.push_back({
      .name = "participants",
      .summary = "the ledgers the coordinator calls, paused or not",
      .example = "fxmesh participants",
      .operator_command = true,
      .run = Participants,
  });
  commands.push_back({
      .name = "propose",
      .arguments = {"SAGA_ID"},
      .options = {{"action", "ACTION",
                   "mark-completed (from CONFIRMING) or cancel (from CREATED, TRYING or "
                   "CANCELLING)",
                   true},
                  {"reason", "CODE", "a short reason code, e.g. LEDGER_FIXED_BY_HAND", true},
                  {"note", "TEXT", "free text, e.g. a ticket number"},
                  OperatorOption()},
      .summary = "propose resolving a stuck saga by hand (a second operator approves)",
      .details = "Maker-checker: the resolution takes effect only when a different operator\n"
                 "approves it with 'fxmesh approve RESOLUTION_ID'.",
      .example = "fxmesh propose 0123...cdef --action mark-completed --reason "
                 "LEDGER_FIXED_BY_HAND --note OPS-123 --operator kim",
      .operator_command = true,
      .run = Propose,
  });
  commands.push_back({
      .name = "approve",
      .arguments = {"RESOLUTION_ID"},
      .options = {OperatorOption()},
      .summary = "approve another operator's proposed resolution; it takes effect",
      .example = "fxmesh approve 1 --operator lee",
      .operator_command = true,
      .run = Approve,
  });
  commands.push_back({
      .name = "audit",
      .arguments = {"[SAGA_ID]"},
      .options = {LimitOption("entries")},
      .summary = "the audit log of operator actions, or one saga's",
      .example = "fxmesh audit",
      .operator_command = true,
      .run = Audit,
  });
  commands.push_back({
      .name = "alerts",
      .summary = "stuck sagas, alert counters, outbox backlog and pending dead letters",
      .example = "fxmesh alerts",
      .operator_command = true,
      .run = Alerts,
  });
  commands.push_back({
      .name = "dead-letters",
      .options = {{"saga", "SAGA_ID", "only this saga's"},
                  {"all", "", "include those already replayed"},
                  LimitOption("dead letters")},
      .summary = "Confirms and Cancels the relay gave up on, waiting for an operator",
      .example = "fxmesh dead-letters --saga 0123456789abcdef0123456789abcdef",
      .operator_command = true,
      .run = DeadLetters,
  });
  commands.push_back({
      .name = "replay",
      .arguments = {"[DEAD_LETTER_ID]"},
      .options = {{"saga", "SAGA_ID", "every pending dead letter of this saga"},
                  {"all", "", "every pending dead letter"},
                  OperatorOption(),
                  {"reason", "TEXT", "why it can work now, for the audit log", true}},
      .synopsis = "(DEAD_LETTER_ID | --saga SAGA_ID | --all) --operator NAME --reason TEXT",
      .summary = "send dead-lettered commands to the relay again, after fixing the cause",
      .example = "fxmesh replay --all --operator kim --reason 'FX ledger restored'",
      .operator_command = true,
      .run = Replay,
  });
  commands.push_back({
      .name = "reconcile",
      .summary = "both ledgers' balance sheets per currency; exit 1 if one is out of balance",
      .details = "For each currency: available + held must equal deposited - withdrawn, and\n"
                 "incoming must equal the open credit holds.",
      .example = "fxmesh reconcile",
      .operator_command = true,
      .run = Reconcile,
  });
  commands.push_back({
      .name = "holds",
      .options = {{"ledger", "krw|fx", "one ledger only (default: both)"},
                  {"state", "STATE", "HELD, CONFIRMED or CANCELLED"},
                  {"saga", "SAGA_ID", "one saga's holds"},
                  {"account", "ACCOUNT", "holds debiting or crediting this account"},
                  {"older-than", "SECONDS", "only holds created at least this long ago"},
                  LimitOption("holds per ledger")},
      .summary = "the ledgers' holds (reservations of unfinished sagas)",
      .details = "A HELD hold older than a few minutes belongs to an unfinished saga:\n"
                 "'fxmesh history SAGA_ID' shows why.",
      .example = "fxmesh holds --state HELD --older-than 300",
      .operator_command = true,
      .run = Holds,
  });
  return commands;
}

}  // namespace fxmesh::cli::internal
