// Proves the callers' ledger channels balance per call: two real ledger servers behind one target
// (two addresses, as a headless Service's name resolves to every ready pod) each get a share of
// the calls made over NewLedgerChannel (round_robin), while a channel with gRPC's default policy
// (pick_first) sends every call to one of them. Also what target a ledger address becomes.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/participant_client.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "ledger/ledger_server.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::ledger {
namespace {

std::unique_ptr<LedgerServer> StartLedger(const std::string& dir, const std::string& name) {
  LedgerServerOptions options;
  options.database.url = absl::StrCat("sqlite:", dir, "/", name, ".db");
  options.currencies = *ParseCurrencyList("KRW");
  absl::StatusOr<std::unique_ptr<LedgerServer>> ledger =
      LedgerServer::Start(options, SystemClock::Get());
  REQUIRE(ledger.ok());
  return std::move(*ledger);
}

// Opens `calls` accounts over `channel`; returns how many of them each ledger holds.
std::pair<int, int> OpenAccounts(const std::shared_ptr<grpc::Channel>& channel,
                                 const std::string& prefix, int calls, LedgerServer& first,
                                 LedgerServer& second) {
  auto stub = v1::LedgerService::NewStub(channel);
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::OpenAccountRequest request;
    request.set_account_id(absl::StrCat(prefix, "-", i));
    request.set_currency("KRW");
    request.set_owner(prefix);
    v1::AccountResponse response;
    const grpc::Status status = stub->OpenAccount(&context, request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
  }
  std::pair<int, int> held = {0, 0};
  for (int i = 0; i < calls; ++i) {
    v1::GetAccountRequest get;
    get.set_account_id(absl::StrCat(prefix, "-", i));
    v1::Account account;
    if (first.engine().GetAccount(get, &account).ok()) ++held.first;
    if (second.engine().GetAccount(get, &account).ok()) ++held.second;
  }
  CHECK(held.first + held.second == calls);
  return held;
}

TEST_CASE("ledger channels spread calls over every address of the target",
          "[ledger][integration]") {
  SetLogLevel(LogLevel::kError);
  const std::string dir = testing::MakeTempDir("fxmesh-balance");
  std::unique_ptr<LedgerServer> first = StartLedger(dir, "first");
  std::unique_ptr<LedgerServer> second = StartLedger(dir, "second");
  const std::string target =
      absl::StrCat("ipv4:127.0.0.1:", first->port(), ",127.0.0.1:", second->port());
  constexpr int kCalls = 40;

  const auto [balanced_first, balanced_second] =
      OpenAccounts(NewLedgerChannel(target), "rr", kCalls, *first, *second);
  INFO("round_robin: " << balanced_first << " / " << balanced_second);
  // Round robin alternates once both connections are ready; the first calls may all go to the
  // one that was ready first, so ask for a fair share, not an exact half.
  CHECK(balanced_first >= kCalls / 4);
  CHECK(balanced_second >= kCalls / 4);

  // The same target without the service config: gRPC's pick_first keeps one connection.
  const auto [picked_first, picked_second] =
      OpenAccounts(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()), "pf", kCalls,
                   *first, *second);
  INFO("pick_first: " << picked_first << " / " << picked_second);
  CHECK((picked_first == 0 || picked_second == 0));
}

TEST_CASE("a ledger address becomes a dns:/// target unless it names its resolver", "[unit]") {
  CHECK(LedgerTarget("krw-ledger:50061") == "dns:///krw-ledger:50061");
  CHECK(LedgerTarget("127.0.0.1:50061") == "dns:///127.0.0.1:50061");
  CHECK(LedgerTarget("[::1]:50061") == "dns:///[::1]:50061");
  CHECK(LedgerTarget("dns:///krw-ledger.fxmesh.svc:50061") == "dns:///krw-ledger.fxmesh.svc:50061");
  CHECK(LedgerTarget("ipv4:127.0.0.1:1,127.0.0.1:2") == "ipv4:127.0.0.1:1,127.0.0.1:2");
  CHECK(LedgerTarget("unix:/run/ledger.sock") == "unix:/run/ledger.sock");
}

}  // namespace
}  // namespace fxmesh::ledger
