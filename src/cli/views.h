// How fxmesh's messages look to a person: one record as Fields, a list as a Table. Pure functions
// of the messages (and of `now` for ages), so tests can check them without a service. Enum values
// drop their type prefix (SAGA_STATE_COMPLETED shows as COMPLETED), amounts are in major units
// (FormatAmount), times are UTC.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/timestamp.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/output.h"
#include "fxmesh/v1/exchange.pb.h"
#include "fxmesh/v1/ledger.pb.h"
#include "fxmesh/v1/ops.pb.h"

namespace fxmesh::cli {

// "COMPLETED" for value SAGA_STATE_COMPLETED of enum `type` (whose values all share a prefix).
std::string EnumText(const google::protobuf::EnumDescriptor* type, int value);
// Reads what a person types for an enum value: "completed", "COMPLETED" or
// "SAGA_STATE_COMPLETED" (and '-' for '_'). INVALID_ARGUMENT lists the accepted names.
absl::StatusOr<int> ParseEnumText(const google::protobuf::EnumDescriptor* type,
                                  absl::string_view text, absl::string_view what);

std::string MoneyText(const v1::Money& money);
// "2026-11-22 23:41:02Z", or "-" when unset.
std::string TimeText(const google::protobuf::Timestamp& timestamp);
// How long ago `timestamp` was ("4m12s"), or "-" when unset or in the future.
std::string AgeText(const google::protobuf::Timestamp& timestamp, absl::Time now);

Style StyleOf(v1::ExchangeStatus status);
Style StyleOf(v1::SagaState state);
Style StyleOf(v1::Outcome outcome);

Fields ExchangeFields(const v1::Exchange& exchange);
Fields QuoteFields(const v1::Quote& quote, absl::Time now);
Fields AccountFields(const v1::Account& account, absl::string_view ledger);
Fields SagaFields(const v1::Saga& saga, absl::Time now);
Fields AlertFields(const v1::Alerts& alerts);
Fields ResolutionFields(const v1::Resolution& resolution);

Table SagaTable(const google::protobuf::RepeatedPtrField<v1::Saga>& sagas, absl::Time now);
Table BranchTable(const v1::Saga& saga);
Table StepTable(const google::protobuf::RepeatedPtrField<v1::Step>& steps);
Table ResolutionTable(const google::protobuf::RepeatedPtrField<v1::Resolution>& resolutions);
Table AuditTable(const google::protobuf::RepeatedPtrField<v1::AuditEntry>& entries);
Table ParticipantTable(const google::protobuf::RepeatedPtrField<v1::Participant>& participants);
Table DeadLetterTable(const google::protobuf::RepeatedPtrField<v1::DeadLetter>& dead_letters);
// An empty table of holds, and its rows for the holds of one ledger.
Table HoldTable();
void AddHoldRows(Table& table, const google::protobuf::RepeatedPtrField<v1::Hold>& holds,
                 absl::string_view ledger, absl::Time now);
// One row per currency: the totals and whether both conservation equations hold for it
// (ARCHITECTURE.md §8.1).
Table BalanceSheetTable(const v1::BalanceSheet& sheet);
// available + held == deposited - withdrawn, and incoming == open credit holds.
bool CurrencyBalances(const v1::CurrencyTotals& totals);

}  // namespace fxmesh::cli
