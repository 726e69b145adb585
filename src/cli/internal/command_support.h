// What the command implementations share: the command groups, argument conversions that turn a
// mistake into a usage error, which ledger serves a currency, generated ids, paged listing and
// the reports of an exchange's or a ledger call's outcome. Private to src/cli.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/session.h"
#include "common/limits.h"
#include "common/money.h"
#include "fxmesh/v1/exchange.pb.h"
#include "fxmesh/v1/ledger.pb.h"

namespace fxmesh::cli::internal {

std::vector<CommandSpec> CustomerCommands();
std::vector<CommandSpec> OperatorCommands();
std::vector<CommandSpec> MeshCommands();

// `value`, or its error turned into a usage error (exit code 2) with the same message.
template <typename T>
absl::StatusOr<T> AsUsage(absl::StatusOr<T> value) {
  if (value.ok()) return value;
  return UsageError(value.status().message());
}

// KRW lives on the KRW ledger; every other currency on the FX ledger.
Service LedgerFor(const Currency& currency);
// "cli-" and 32 random hex digits: a request id or idempotency key nobody else will pick.
std::string NewClientKey();

// --limit N (default limits::kCliListLimitDefault, at most kCliListLimitMax).
absl::StatusOr<int> ParseLimit(const CommandLine& line);
// A whole number from 0 (or 1 when `positive`) up, for ids and ages; usage error otherwise.
absl::StatusOr<int64_t> ParseCount(absl::string_view text, absl::string_view what, bool positive);

// Makes one call through the session and, with --json, prints its response: every command's
// answers reach a script this way, exactly once each.
template <typename Response>
absl::StatusOr<Response> Ask(
    Session& session, Service service, absl::string_view doing,
    const std::function<grpc::Status(grpc::ClientContext&, Response*)>& rpc) {
  Response response;
  absl::Status called = session.Call(
      service, doing, [&](grpc::ClientContext& context) { return rpc(context, &response); });
  if (!called.ok()) return called;
  session.printer().Json(response);
  return response;
}

// Asks for pages of a list until `limit` items or the last page, and returns them merged into one
// response (printed with --json, as Ask does); its next_page_token is set when more items exist
// than were fetched.
template <typename Request, typename Response, typename Item>
absl::StatusOr<Response> FetchUpTo(
    Session& session, Service service, absl::string_view doing, Request request, int limit,
    google::protobuf::RepeatedPtrField<Item>* (Response::*items)(),
    const std::function<grpc::Status(grpc::ClientContext&, const Request&, Response*)>& rpc) {
  Response merged;
  for (;;) {
    const int wanted = limit - (merged.*items)()->size();
    request.set_page_size(std::min(wanted, limits::kListPageSizeMax));
    Response page;
    absl::Status called = session.Call(
        service, doing, [&](grpc::ClientContext& context) { return rpc(context, request, &page); });
    if (!called.ok()) return called;
    for (Item& item : *(page.*items)()) *(merged.*items)()->Add() = std::move(item);
    merged.set_next_page_token(page.next_page_token());
    if (page.next_page_token().empty() || (merged.*items)()->size() >= limit) break;
    request.set_page_token(page.next_page_token());
  }
  session.printer().Json(merged);
  return merged;
}

// Prints a listing's count ("1 saga", "3 sagas"), and a hint when --limit cut it short.
void PrintListFooter(Printer& printer, int shown, bool more, absl::string_view singular,
                     absl::string_view plural);

// Prints an exchange (human or JSON is the caller's part) and returns the exit code of its status:
// 0 COMPLETED, 1 FAILED (the reason on stderr), 5 PENDING (how to follow it on stderr).
ExitCode ReportExchange(Session& session, const v1::Exchange& exchange);

// The exit code of a ledger's business outcome; a rejection is explained on stderr, naming
// `action` ("the deposit") and the ledger.
ExitCode ReportLedgerOutcome(Session& session, Service ledger, absl::string_view action,
                             v1::Outcome outcome, v1::RejectReason reason,
                             const std::string& detail);

}  // namespace fxmesh::cli::internal
