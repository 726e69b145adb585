// Proves that the coordinator answers hostile input on every RPC of OpsService and TraceService
// with INVALID_ARGUMENT, a documented outcome (NOT_FOUND for an unknown saga, resolution, dead
// letter or participant; FAILED_PRECONDITION for a final saga) or DEADLINE_EXCEEDED, with a clear
// message, and changes nothing: every table of the coordinator's and both ledgers' databases is
// compared before and after each row. Plaintext, so the request's `operator` stands (over mutual
// TLS it is the certificate's: operator_identity_test.cc). Real gRPC, on SQLite.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "tests/security/hostile_coordinator.h"

namespace fxmesh::testing {
namespace {

using grpc::StatusCode;
using v1::OpsService;

const Expect kOk{StatusCode::OK, ""};
const StatusCode kInvalid = StatusCode::INVALID_ARGUMENT;
const std::string kUnknownSaga = "b00000000000000000000000000000ff";

template <typename Request>
std::vector<Row<Request>> OperatorRows() {
  return KeyRows<Request>("operator", [](Request& r, const std::string& v) { r.set_operator_(v); });
}

// Rows for free text that is stored (a reason, a note): at most 1 KiB, and UTF-8.
template <typename Request>
std::vector<Row<Request>> TextRows(const std::string& field, Setter<Request> set) {
  return {
      {field + " of 200 KiB",
       [set](Request& r) { set(r, Huge()); },
       {kInvalid, field + " is 204800 bytes long; the maximum is 1024"}},
      {field + " not UTF-8", [set](Request& r) { set(r, kInvalidUtf8); }, kMalformed},
  };
}

// Rows for an id that names a stored row: any id that names none is NOT_FOUND.
template <typename Request>
std::vector<Row<Request>> IdRows(const std::string& what,
                                 std::function<void(Request&, int64_t)> set) {
  std::vector<Row<Request>> rows;
  for (int64_t id : {int64_t{0}, int64_t{-1}, INT64_MIN, INT64_MAX}) {
    rows.push_back({absl::StrCat(what, " ", id),
                    [set, id](Request& r) { set(r, id); },
                    {StatusCode::NOT_FOUND, absl::StrCat("no ", what, " ", id)}});
  }
  return rows;
}

TEST_CASE("hostile input to every OpsService RPC is refused and changes nothing",
          "[security][integration][sqlite]") {
  HostileCoordinator mesh;
  HostileTables tables([&] { return mesh.Snapshot(); });
  const std::string service = OpsService::service_full_name();
  OpsService::Stub* ops = &mesh.ops();
  auto saga_id = []<typename Request>(Request& r, const std::string& v) { r.set_saga_id(v); };

  // ListSagas.
  std::vector<Row<v1::ListSagasRequest>> list_rows = PageRows<v1::ListSagasRequest>(
      [](auto& r, int32_t v) { r.set_page_size(v); },
      [](auto& r, const std::string& v) { r.set_page_token(v); }, kOk);
  Add(list_rows,
      KeyRows<v1::ListSagasRequest>(
          "customer_id", [](auto& r, const std::string& v) { r.set_customer_id(v); }, false));
  Add(list_rows,
      KeyRows<v1::ListSagasRequest>(
          "participant", [](auto& r, const std::string& v) { r.set_participant(v); }, false));
  Add(list_rows, DeadlineRows<v1::ListSagasRequest>(Expect{StatusCode::OK, "COMPLETED"}));
  Add(list_rows, {
                     {"state not a saga state",
                      [](auto& r) { r.set_state(static_cast<v1::SagaState>(99)); },
                      {kInvalid, "state is not a saga state"}},
                     {"state negative",
                      [](auto& r) { r.set_state(static_cast<v1::SagaState>(-1)); },
                      {kInvalid, "state is not a saga state"}},
                     {"older_than_seconds -1",
                      [](auto& r) { r.set_older_than_seconds(-1); },
                      {kInvalid, "must not be negative"}},
                     {"older_than_seconds INT64_MAX",
                      [](auto& r) { r.set_older_than_seconds(INT64_MAX); },
                      {StatusCode::OK, "", /*empty_response=*/true}},
                 });
  tables.Run(service + "/ListSagas", v1::ListSagasRequest(), list_rows,
             FXMESH_CALL(ops, ListSagas, v1::ListSagasRequest, v1::ListSagasResponse));

  // GetSagaHistory.
  v1::GetSagaHistoryRequest history;
  history.set_saga_id(mesh.completed_saga());
  std::vector<Row<v1::GetSagaHistoryRequest>> history_rows =
      SagaIdRows<v1::GetSagaHistoryRequest>("saga_id", saga_id);
  Add(history_rows, DeadlineRows<v1::GetSagaHistoryRequest>(Expect{StatusCode::OK, "COMPLETED"}));
  Add(history_rows, {{"a saga that does not exist",
                      [](auto& r) { r.set_saga_id(kUnknownSaga); },
                      {StatusCode::NOT_FOUND, "no saga"}}});
  tables.Run(service + "/GetSagaHistory", history, history_rows,
             FXMESH_CALL(ops, GetSagaHistory, v1::GetSagaHistoryRequest, v1::SagaHistory));

  // RetrySaga, of a final saga: refused.
  v1::RetrySagaRequest retry;
  retry.set_saga_id(mesh.completed_saga());
  retry.set_operator_("kim");
  const Expect final_saga{StatusCode::FAILED_PRECONDITION, "does not exist or is already final"};
  std::vector<Row<v1::RetrySagaRequest>> retry_rows =
      SagaIdRows<v1::RetrySagaRequest>("saga_id", saga_id);
  Add(retry_rows, OperatorRows<v1::RetrySagaRequest>());
  Add(retry_rows, DeadlineRows<v1::RetrySagaRequest>(final_saga));
  Add(retry_rows,
      {{"a saga that does not exist", [](auto& r) { r.set_saga_id(kUnknownSaga); }, final_saga}});
  tables.Run(service + "/RetrySaga", retry, retry_rows,
             FXMESH_CALL(ops, RetrySaga, v1::RetrySagaRequest, v1::Saga));

  // PauseParticipant and ResumeParticipant: a valid call changes state, so no 10-year row.
  auto participant_rows = []<typename Request>() {
    auto with = [](std::string value) { return [value](Request& r) { r.set_participant(value); }; };
    std::vector<Row<Request>> rows = OperatorRows<Request>();
    Add(rows, DeadlineRows<Request>(std::nullopt));
    Add(rows,
        {
            {"participant missing", with(""), {StatusCode::NOT_FOUND, "no participant ''"}},
            {"participant unknown",
             with("fee-ledger"),
             {StatusCode::NOT_FOUND, "participants are fx-ledger, krw-ledger"}},
            {"participant of 200 KiB", with(Huge()), {StatusCode::NOT_FOUND, "no participant"}},
            {"participant with a newline",
             with("krw-ledger\n"),
             {StatusCode::NOT_FOUND, "no participant"}},
            {"participant not UTF-8", with(kInvalidUtf8), kMalformed},
        });
    return rows;
  };
  v1::PauseParticipantRequest pause;
  pause.set_participant("krw-ledger");
  pause.set_operator_("kim");
  pause.set_reason("maintenance");
  std::vector<Row<v1::PauseParticipantRequest>> pause_rows =
      participant_rows.operator()<v1::PauseParticipantRequest>();
  Add(pause_rows, TextRows<v1::PauseParticipantRequest>(
                      "reason", [](auto& r, const std::string& v) { r.set_reason(v); }));
  tables.Run(service + "/PauseParticipant", pause, pause_rows,
             FXMESH_CALL(ops, PauseParticipant, v1::PauseParticipantRequest, v1::Participant));
  v1::ResumeParticipantRequest resume;
  resume.set_participant("krw-ledger");
  resume.set_operator_("kim");
  tables.Run(service + "/ResumeParticipant", resume,
             participant_rows.operator()<v1::ResumeParticipantRequest>(),
             FXMESH_CALL(ops, ResumeParticipant, v1::ResumeParticipantRequest, v1::Participant));
  tables.Run(service + "/ListParticipants", v1::ListParticipantsRequest(),
             DeadlineRows<v1::ListParticipantsRequest>(Expect{StatusCode::OK, "krw-ledger"}),
             FXMESH_CALL(ops, ListParticipants, v1::ListParticipantsRequest,
                         v1::ListParticipantsResponse));

  // ProposeResolution, of a final saga: refused.
  v1::ProposeResolutionRequest propose;
  propose.set_saga_id(mesh.completed_saga());
  propose.set_action(v1::RESOLUTION_ACTION_CANCEL);
  propose.set_reason_code("LEDGER_FIXED_BY_HAND");
  propose.set_operator_("kim");
  std::vector<Row<v1::ProposeResolutionRequest>> propose_rows =
      SagaIdRows<v1::ProposeResolutionRequest>("saga_id", saga_id);
  Add(propose_rows, OperatorRows<v1::ProposeResolutionRequest>());
  Add(propose_rows,
      KeyRows<v1::ProposeResolutionRequest>(
          "reason_code", [](auto& r, const std::string& v) { r.set_reason_code(v); }));
  Add(propose_rows, TextRows<v1::ProposeResolutionRequest>(
                        "note", [](auto& r, const std::string& v) { r.set_note(v); }));
  Add(propose_rows, DeadlineRows<v1::ProposeResolutionRequest>(
                        Expect{StatusCode::FAILED_PRECONDITION, "CANCEL applies to a saga in"}));
  auto action = [](int value) {
    return [value](v1::ProposeResolutionRequest& r) {
      r.set_action(static_cast<v1::ResolutionAction>(value));
    };
  };
  Add(propose_rows, {
                        {"action unset", action(0), {kInvalid, "action must be"}},
                        {"action unknown", action(99), {kInvalid, "action must be"}},
                        {"action negative", action(-1), {kInvalid, "action must be"}},
                        {"a saga that does not exist",
                         [](auto& r) { r.set_saga_id(kUnknownSaga); },
                         {StatusCode::NOT_FOUND, "no saga"}},
                    });
  tables.Run(service + "/ProposeResolution", propose, propose_rows,
             FXMESH_CALL(ops, ProposeResolution, v1::ProposeResolutionRequest, v1::Resolution));

  // ApproveResolution: there is no resolution at all.
  v1::ApproveResolutionRequest approve;
  approve.set_resolution_id(1);
  approve.set_operator_("lee");
  std::vector<Row<v1::ApproveResolutionRequest>> approve_rows =
      OperatorRows<v1::ApproveResolutionRequest>();
  Add(approve_rows, IdRows<v1::ApproveResolutionRequest>(
                        "resolution", [](auto& r, int64_t v) { r.set_resolution_id(v); }));
  Add(approve_rows,
      DeadlineRows<v1::ApproveResolutionRequest>(Expect{StatusCode::NOT_FOUND, "no resolution 1"}));
  tables.Run(service + "/ApproveResolution", approve, approve_rows,
             FXMESH_CALL(ops, ApproveResolution, v1::ApproveResolutionRequest, v1::Resolution));

  // ListAudit and ListDeadLetters.
  std::vector<Row<v1::ListAuditRequest>> audit_rows = PageRows<v1::ListAuditRequest>(
      [](auto& r, int32_t v) { r.set_page_size(v); },
      [](auto& r, const std::string& v) { r.set_page_token(v); }, kOk);
  Add(audit_rows, SagaIdRows<v1::ListAuditRequest>("saga_id", saga_id, false));
  Add(audit_rows, DeadlineRows<v1::ListAuditRequest>(kOk));
  tables.Run(service + "/ListAudit", v1::ListAuditRequest(), audit_rows,
             FXMESH_CALL(ops, ListAudit, v1::ListAuditRequest, v1::ListAuditResponse));
  std::vector<Row<v1::ListDeadLettersRequest>> dead_rows = PageRows<v1::ListDeadLettersRequest>(
      [](auto& r, int32_t v) { r.set_page_size(v); },
      [](auto& r, const std::string& v) { r.set_page_token(v); }, kOk);
  Add(dead_rows, SagaIdRows<v1::ListDeadLettersRequest>("saga_id", saga_id, false));
  Add(dead_rows, DeadlineRows<v1::ListDeadLettersRequest>(kOk));
  tables.Run(
      service + "/ListDeadLetters", v1::ListDeadLettersRequest(), dead_rows,
      FXMESH_CALL(ops, ListDeadLetters, v1::ListDeadLettersRequest, v1::ListDeadLettersResponse));
  tables.Run(service + "/GetAlerts", v1::GetAlertsRequest(),
             DeadlineRows<v1::GetAlertsRequest>(Expect{StatusCode::OK, "stuck_threshold_seconds"}),
             FXMESH_CALL(ops, GetAlerts, v1::GetAlertsRequest, v1::Alerts));

  // ReplayDeadLetters: every dead letter, of which there is none.
  v1::ReplayDeadLettersRequest replay;
  replay.set_all(true);
  replay.set_operator_("kim");
  replay.set_reason("relay fixed");
  std::vector<Row<v1::ReplayDeadLettersRequest>> replay_rows =
      OperatorRows<v1::ReplayDeadLettersRequest>();
  Add(replay_rows, SagaIdRows<v1::ReplayDeadLettersRequest>("saga_id", saga_id));
  Add(replay_rows, IdRows<v1::ReplayDeadLettersRequest>(
                       "dead letter", [](auto& r, int64_t v) { r.set_dead_letter_id(v); }));
  Add(replay_rows, TextRows<v1::ReplayDeadLettersRequest>(
                       "reason", [](auto& r, const std::string& v) { r.set_reason(v); }));
  Add(replay_rows, DeadlineRows<v1::ReplayDeadLettersRequest>(kOk));
  Add(replay_rows,
      {
          {"no target",
           [](auto& r) { r.clear_target(); },
           {kInvalid, "say which dead letters to replay"}},
          {"all set to false", [](auto& r) { r.set_all(false); }, {kInvalid, "all must be true"}},
      });
  tables.Run(service + "/ReplayDeadLetters", replay, replay_rows,
             FXMESH_CALL(ops, ReplayDeadLetters, v1::ReplayDeadLettersRequest,
                         v1::ReplayDeadLettersResponse));

  // ProposeDismissal and ApproveDismissal: there is no dead letter at all.
  v1::ProposeDismissalRequest dismiss;
  dismiss.set_dead_letter_id(1);
  dismiss.set_operator_("kim");
  dismiss.set_reason("poison message");
  std::vector<Row<v1::ProposeDismissalRequest>> dismiss_rows =
      OperatorRows<v1::ProposeDismissalRequest>();
  Add(dismiss_rows, IdRows<v1::ProposeDismissalRequest>(
                        "dead letter", [](auto& r, int64_t v) { r.set_dead_letter_id(v); }));
  Add(dismiss_rows, TextRows<v1::ProposeDismissalRequest>(
                        "reason", [](auto& r, const std::string& v) { r.set_reason(v); }));
  Add(dismiss_rows,
      DeadlineRows<v1::ProposeDismissalRequest>(Expect{StatusCode::NOT_FOUND, "no dead letter 1"}));
  Add(dismiss_rows, {{"reason missing",
                      [](auto& r) { r.clear_reason(); },
                      {kInvalid, "say why the dead letter must not be replayed"}}});
  tables.Run(service + "/ProposeDismissal", dismiss, dismiss_rows,
             FXMESH_CALL(ops, ProposeDismissal, v1::ProposeDismissalRequest, v1::DeadLetter));
  v1::ApproveDismissalRequest approve_dismissal;
  approve_dismissal.set_dead_letter_id(1);
  approve_dismissal.set_operator_("lee");
  std::vector<Row<v1::ApproveDismissalRequest>> approve_dismissal_rows =
      OperatorRows<v1::ApproveDismissalRequest>();
  Add(approve_dismissal_rows,
      IdRows<v1::ApproveDismissalRequest>("dead letter",
                                          [](auto& r, int64_t v) { r.set_dead_letter_id(v); }));
  Add(approve_dismissal_rows,
      DeadlineRows<v1::ApproveDismissalRequest>(Expect{StatusCode::NOT_FOUND, "no dead letter 1"}));
  tables.Run(service + "/ApproveDismissal", approve_dismissal, approve_dismissal_rows,
             FXMESH_CALL(ops, ApproveDismissal, v1::ApproveDismissalRequest, v1::DeadLetter));

  // The coordinator's TraceService.
  v1::ListSpansRequest spans;
  spans.set_trace_id(mesh.completed_saga());
  std::vector<Row<v1::ListSpansRequest>> span_rows = SagaIdRows<v1::ListSpansRequest>(
      "trace_id", [](auto& r, const std::string& v) { r.set_trace_id(v); });
  Add(span_rows, DeadlineRows<v1::ListSpansRequest>(kOk));
  tables.Run(v1::TraceService::service_full_name() + std::string("/ListSpans"), spans, span_rows,
             FXMESH_CALL(&mesh.traces(), ListSpans, v1::ListSpansRequest, v1::ListSpansResponse));

  tables.CheckCovers(service);
  tables.CheckCovers(v1::TraceService::service_full_name());
}

}  // namespace
}  // namespace fxmesh::testing
