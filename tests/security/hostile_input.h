// The hostile-input table: every RPC of a service is called with requests made from a valid one
// by a small mutation each (a huge id, invalid UTF-8, a control character, an absurd amount, an
// unknown enum, a missing field, an absurd page or deadline, a reused key, another customer's
// account), over real gRPC. Each row names the status code it must get (and a piece of the message
// that says what is wrong, or for OK a piece of the business outcome in the response), and after
// each row the service's state must be what it was before.
#pragma once

#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/db.h"

namespace fxmesh::testing {

// What a row must get: `code`, and `text` (when not empty) in the error message, or for OK in the
// response's text format (e.g. "REJECT_REASON_NOT_OWNER").
struct Expect {
  grpc::StatusCode code;
  std::string text;
  // For OK: the response must be empty (e.g. a listing that must find nothing).
  bool empty_response = false;
};

// The deadline every call gets unless its row says otherwise.
inline constexpr std::chrono::milliseconds kRowDeadline{10'000};

template <typename Request>
struct Row {
  std::string name;
  std::function<void(Request&)> mutate;
  Expect expect;
  // From now; negative means already expired.
  std::chrono::nanoseconds deadline = kRowDeadline;
  // Also acceptable instead of `expect`, for a row whose answer is a race (a 1 ns deadline).
  std::optional<Expect> or_else = std::nullopt;
};

template <typename Request, typename Response>
using Call = std::function<grpc::Status(grpc::ClientContext*, const Request&, Response*)>;

// A string of `bytes` bytes made of `fill`: by default a 200 KiB id, huge beside any valid one
// yet under the servers' request limit (limits::kGrpcRequestBytesMax), so that it reaches the
// validation it tests. A larger request is refused before it is read (grpc_limits_test).
std::string Huge(char fill = 'a', size_t bytes = 200 * 1024);
// Bytes that are not UTF-8 (a lone continuation byte, an overlong form, a surrogate), embedded
// in an otherwise harmless value. Protobuf's C++ setters do not check UTF-8, so a typed stub sends
// them as they are, as a hostile client would.
inline constexpr char kInvalidUtf8[] = "ab\x80\xc0\xaf\xed\xa0\x80";

// The rows of the deadline category, the same for every RPC: an expired deadline gets
// DEADLINE_EXCEEDED (the call is not run); 10 years is an ordinary deadline and gets `ten_years`,
// what the valid request gets. 1 ns may expire before the call is sent or, on a timer that counts
// in milliseconds, after it was answered: it gets either. Without `ten_years` (the valid request
// changes state) there are no such rows.
template <typename Request>
std::vector<Row<Request>> DeadlineRows(std::optional<Expect> ten_years) {
  using namespace std::chrono_literals;
  const auto unchanged = [](Request&) {};
  const Expect exceeded{grpc::StatusCode::DEADLINE_EXCEEDED, ""};
  std::vector<Row<Request>> rows = {{"deadline already expired", unchanged, exceeded, -1s}};
  if (ten_years) {
    rows.push_back({"deadline of 1 ns", unchanged, exceeded, 1ns, ten_years});
    rows.push_back({"deadline in 10 years", unchanged, *ten_years, std::chrono::hours(87'600)});
  }
  return rows;
}

// What a malformed request (bytes that do not parse as the request, such as a string field that
// is not UTF-8) gets.
inline const Expect kMalformed{grpc::StatusCode::INVALID_ARGUMENT, "not a valid"};

template <typename Request>
using Setter = std::function<void(Request&, const std::string&)>;

// Rows for an identifier field checked as a key (1-N characters of [A-Za-z0-9._:-]).
template <typename Request>
std::vector<Row<Request>> KeyRows(const std::string& field, Setter<Request> set,
                                  bool required = true) {
  const grpc::StatusCode invalid = grpc::StatusCode::INVALID_ARGUMENT;
  auto with = [set](std::string value) {
    return [set, value](Request& request) { set(request, value); };
  };
  std::vector<Row<Request>> rows = {
      {field + " of 200 KiB", with(Huge()), {invalid, field + " is 204800 characters long"}},
      {field + " with a newline", with("alice\nkrw"), {invalid, field + " may use only"}},
      {field + " with a NUL", with(std::string("alice\0krw", 9)), {invalid, "may use only"}},
      {field + " with an escape sequence", with("\x1b[2Jalice"), {invalid, "may use only"}},
      {field + " with spaces", with(" alice "), {invalid, field + " may use only"}},
      {field + " not UTF-8", with(kInvalidUtf8), kMalformed},
  };
  if (required) rows.push_back({field + " missing", with(""), {invalid, field + " is required"}});
  return rows;
}

// Rows for a saga id field (32 lowercase hex digits, not all zero).
template <typename Request>
std::vector<Row<Request>> SagaIdRows(const std::string& field, Setter<Request> set,
                                     bool required = true) {
  const grpc::StatusCode invalid = grpc::StatusCode::INVALID_ARGUMENT;
  auto with = [set](std::string value) {
    return [set, value](Request& request) { set(request, value); };
  };
  std::vector<Row<Request>> rows = {
      {field + " of 200 KiB", with(Huge('0')), {invalid, "32 lowercase hex digits"}},
      {field + " in capitals", with(std::string(32, 'A')), {invalid, "32 lowercase hex digits"}},
      {field + " all zero", with(std::string(32, '0')), {invalid, "not all zero"}},
      {field + " with a newline", with(std::string(31, 'a') + "\n"), {invalid, "32 lowercase"}},
      {field + " not UTF-8", with(std::string(24, 'a') + kInvalidUtf8), kMalformed},
  };
  if (required) rows.push_back({field + " missing", with(""), {invalid, "is required"}});
  return rows;
}

// Rows for an amount in minor units: it must be positive and at most limits::kAmountMinorMax.
template <typename Request>
std::vector<Row<Request>> AmountRows(std::function<void(Request&, int64_t)> set) {
  const grpc::StatusCode invalid = grpc::StatusCode::INVALID_ARGUMENT;
  auto with = [set](int64_t value) {
    return [set, value](Request& request) { set(request, value); };
  };
  return {
      {"amount 0", with(0), {invalid, "must be a positive number"}},
      {"amount -1", with(-1), {invalid, "must be a positive number"}},
      {"amount INT64_MIN", with(INT64_MIN), {invalid, "must be a positive number"}},
      {"amount INT64_MAX", with(INT64_MAX), {invalid, "exceeds the per-request maximum"}},
      {"amount 10^15 + 1", with(1'000'000'000'000'001), {invalid, "exceeds the per-request"}},
  };
}

// Rows for page_size and page_token: negative sizes and tokens this service did not issue are
// refused; 0 and INT32_MAX are the default and the maximum page (`ok` is what they get), and so
// is another listing's token, which is only a position (pages are not bound to their query).
template <typename Request>
std::vector<Row<Request>> PageRows(std::function<void(Request&, int32_t)> set_size,
                                   Setter<Request> set_token, const Expect& ok) {
  const grpc::StatusCode invalid = grpc::StatusCode::INVALID_ARGUMENT;
  auto size = [set_size](int32_t value) {
    return [set_size, value](Request& request) { set_size(request, value); };
  };
  auto token = [set_token](std::string value) {
    return [set_token, value](Request& request) { set_token(request, value); };
  };
  return {
      {"page_size -1", size(-1), {invalid, "page_size must not be negative"}},
      {"page_size INT32_MIN", size(INT32_MIN), {invalid, "page_size must not be negative"}},
      {"page_size 0", size(0), ok},
      {"page_size INT32_MAX", size(INT32_MAX), ok},
      {"page_token garbage", token("garbage"), {invalid, "is not one this service issued"}},
      {"page_token negative", token("-5"), {invalid, "is not one this service issued"}},
      {"page_token past INT64_MAX", token("99999999999999999999"), {invalid, "not one this"}},
      {"page_token of 200 KiB", token(Huge('9')), {invalid, "is not one this service issued"}},
      {"page_token not UTF-8", token(kInvalidUtf8), kMalformed},
      {"page_token of another listing", token("1"), ok},
  };
}

// Appends `more` to `rows`.
template <typename Request>
void Add(std::vector<Row<Request>>& rows, std::vector<Row<Request>> more) {
  for (Row<Request>& row : more) rows.push_back(std::move(row));
}

// A unary call of `Method` on a stub, as HostileTables::Run takes it.
#define FXMESH_CALL(stub, Method, Request, Response)                                  \
  ::fxmesh::testing::Call<Request, Response>(                                         \
      [&](grpc::ClientContext* context, const Request& request, Response* response) { \
        return (stub)->Method(context, request, response);                            \
      })

// Every row of a service is run through one HostileTables, which snapshots the state before and
// after each row and remembers which RPCs had rows.
class HostileTables {
 public:
  // `snapshot` renders everything a call could change (tables, in-memory switches) as text.
  explicit HostileTables(std::function<std::string()> snapshot) : snapshot_(std::move(snapshot)) {}

  // Runs `rows` against `method` ("fxmesh.v1.LedgerService/Try"): each row's request is `valid`
  // after its mutation. Checks the code, the text, that an error's message is short, printable and
  // not empty, and that the snapshot did not change.
  template <typename Request, typename Response>
  void Run(const std::string& method, const Request& valid, const std::vector<Row<Request>>& rows,
           const Call<Request, Response>& call) {
    covered_.insert(method);
    for (const Row<Request>& row : rows) {
      INFO(method << ": " << row.name);
      Request request = valid;
      row.mutate(request);
      const std::string before = snapshot_();
      Response response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + row.deadline);
      const grpc::Status status = call(&context, request, &response);
      INFO("got " << CodeName(status.error_code()) << ": " << status.error_message() << " / "
                  << response.ShortDebugString().substr(0, 400));
      const Expect& expect =
          row.or_else && status.error_code() == row.or_else->code ? *row.or_else : row.expect;
      CHECK(CodeName(status.error_code()) == CodeName(expect.code));
      if (status.ok()) {
        CHECK_THAT(response.ShortDebugString(), Catch::Contains(expect.text));
        if (expect.empty_response) CHECK(response.ByteSizeLong() == 0);
      } else {
        CheckCleanMessage(status.error_message(), expect.text);
      }
      CHECK(snapshot_() == before);
    }
  }

  // Checks that every RPC of `service` ("fxmesh.v1.LedgerService") had rows.
  void CheckCovers(const std::string& service) const;

  static std::string CodeName(grpc::StatusCode code);

 private:
  static void CheckCleanMessage(const std::string& message, const std::string& expected);

  std::function<std::string()> snapshot_;
  std::set<std::string> covered_;
};

// Every row of every table in `tables` of the database at `url`, as text, in primary-key order.
std::string DumpTables(const std::string& url, const std::vector<std::string>& tables);

}  // namespace fxmesh::testing
