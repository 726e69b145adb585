#include "tests/binaries/mesh_processes.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

std::shared_ptr<grpc::Channel> Channel(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
}

}  // namespace

MeshProcesses::MeshProcesses(bool dev_faults)
    : data_(MakeTempDir("fxmesh-mesh")), dev_faults_(dev_faults) {
  StartLedger("krw");
  StartLedger("fx");
  krw_stub_ = v1::LedgerService::NewStub(Channel(krw_port_));
  fx_stub_ = v1::LedgerService::NewStub(Channel(fx_port_));
  Fund(krw(), "position:KRW", "KRW", 10'000'000'000);
  Fund(fx(), "position:USD", "USD", 1'000'000'000);
}

void MeshProcesses::StartCoordinator(const std::vector<std::string>& extra_flags) {
  std::vector<std::string> flags = {
      "--listen=127.0.0.1:0",
      absl::StrCat("--db=sqlite:", data_, "/coordinator.db"),
      absl::StrCat("--rates=", FXMESH_SOURCE_DIR, "/config/rates.txt"),
      absl::StrCat("--krw_ledger=127.0.0.1:", krw_port_),
      absl::StrCat("--fx_ledger=127.0.0.1:", fx_port_),
      // A fixed replica id: the restarted process takes its own leases back at once.
      "--replica_id=crash-test",
      "--recovery_interval_ms=100",
      "--metrics_listen=127.0.0.1:0",
  };
  if (!kafka_brokers_.empty()) flags.push_back(absl::StrCat("--kafka-brokers=", kafka_brokers_));
  flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
  coordinator_.reset();  // A previous process, if any, is gone first.
  coordinator_ =
      std::make_unique<ServiceProcess>(FXMESH_COORDINATOR_PATH, flags, std::vector<std::string>{});
  const int port = coordinator_->WaitForPort();
  coordinator_port_ = port;
  exchange_stub_ = v1::ExchangeService::NewStub(Channel(port));
  ops_stub_ = v1::OpsService::NewStub(Channel(port));
}

void MeshProcesses::StartLedger(const std::string& ledger) {
  const bool krw = ledger == "krw";
  std::unique_ptr<ServiceProcess>& process = krw ? krw_process_ : fx_process_;
  int& port = krw ? krw_port_ : fx_port_;
  std::vector<std::string> flags = {absl::StrCat("--listen=127.0.0.1:", port),
                                    absl::StrCat("--db=sqlite:", data_, "/", ledger, ".db"),
                                    "--metrics_listen=127.0.0.1:0"};
  if (dev_faults_) flags.push_back("--dev_faults");
  process.reset();
  process = std::make_unique<ServiceProcess>(krw ? FXMESH_KRW_LEDGER_PATH : FXMESH_FX_LEDGER_PATH,
                                             flags, std::vector<std::string>{});
  port = process->WaitForPort();
}

void MeshProcesses::KillLedger(const std::string& ledger) {
  std::unique_ptr<ServiceProcess>& process = ledger == "krw" ? krw_process_ : fx_process_;
  process->Signal(SIGKILL);
  process->WaitForExit();
}

void MeshProcesses::StartKafka() {
  const std::string bootstrap_file = absl::StrCat(data_, "/kafka-bootstrap");
  kafka_ = std::make_unique<ServiceProcess>(
      FXMESH_KAFKA_PATH,
      std::vector<std::string>{"--listen=127.0.0.1:0", "--brokers=3", "--partitions=4",
                               absl::StrCat("--bootstrap_file=", bootstrap_file)},
      std::vector<std::string>{});
  kafka_control_stub_ = v1::KafkaControlService::NewStub(Channel(kafka_->WaitForPort()));
  std::ifstream file(bootstrap_file);
  std::getline(file, kafka_brokers_);
  REQUIRE(!kafka_brokers_.empty());
}

void MeshProcesses::StartRelay(int index, const std::vector<std::string>& extra_flags) {
  REQUIRE(!kafka_brokers_.empty());
  std::vector<std::string> flags = {"--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                                    absl::StrCat("--kafka-brokers=", kafka_brokers_),
                                    absl::StrCat("--krw_ledger=127.0.0.1:", krw_port_),
                                    absl::StrCat("--fx_ledger=127.0.0.1:", fx_port_)};
  flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
  relays_[index].reset();
  relays_[index] =
      std::make_unique<ServiceProcess>(FXMESH_RELAY_PATH, flags, std::vector<std::string>{});
  relay_ports_[index] = relays_[index]->WaitForPort();
}

int MeshProcesses::MetricsPort(ServiceProcess& service) {
  const std::string output = service.Output();
  const size_t at = output.rfind("\"metrics_port\":");
  REQUIRE(at != std::string::npos);
  return std::atoi(output.c_str() + at + std::string("\"metrics_port\":").size());
}

std::unique_ptr<grpc::ClientContext> MeshProcesses::Context(int seconds) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

void MeshProcesses::Fund(v1::LedgerService::Stub& ledger, const std::string& account,
                         const std::string& currency, int64_t amount) {
  if (account.rfind("position:", 0) != 0) {
    v1::OpenAccountRequest open;
    open.set_account_id(account);
    open.set_currency(currency);
    open.set_owner(account.substr(0, account.find('-')));  // "alice-krw" is alice's.
    v1::AccountResponse opened;
    REQUIRE(ledger.OpenAccount(Context().get(), open, &opened).ok());
  }
  if (amount <= 0) return;
  v1::ExternalTransferRequest deposit;
  deposit.set_request_id(absl::StrCat("fund-", ++request_counter_));
  deposit.set_account_id(account);
  deposit.mutable_amount()->set_amount_minor(amount);
  deposit.mutable_amount()->set_currency(currency);
  v1::ExternalTransferResponse deposited;
  REQUIRE(ledger.Deposit(Context().get(), deposit, &deposited).ok());
  REQUIRE(deposited.outcome() == v1::OUTCOME_APPLIED);
}

int64_t MeshProcesses::Available(v1::LedgerService::Stub& ledger, const std::string& account) {
  v1::GetAccountRequest request;
  request.set_account_id(account);
  v1::Account found;
  REQUIRE(ledger.GetAccount(Context().get(), request, &found).ok());
  return found.available_minor();
}

v1::Exchange MeshProcesses::AwaitFinal(const std::string& saga_id, int seconds) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  v1::GetExchangeRequest request;
  request.set_saga_id(saga_id);
  v1::Exchange exchange;
  while (std::chrono::steady_clock::now() < give_up) {
    grpc::Status status = this->exchange().GetExchange(Context().get(), request, &exchange);
    if (status.ok() && (exchange.state() == v1::SAGA_STATE_COMPLETED ||
                        exchange.state() == v1::SAGA_STATE_CANCELLED)) {
      return exchange;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return exchange;
}

void MeshProcesses::CheckLedgers() {
  for (v1::LedgerService::Stub* ledger : {krw_stub_.get(), fx_stub_.get()}) {
    v1::BalanceSheet sheet;
    REQUIRE(ledger->GetBalanceSheet(Context().get(), v1::GetBalanceSheetRequest(), &sheet).ok());
    INFO(sheet.DebugString());
    CHECK(sheet.balanced());
    v1::ListHoldsRequest held;
    held.set_state(v1::HOLD_STATE_HELD);
    v1::ListHoldsResponse holds;
    REQUIRE(ledger->ListHolds(Context().get(), held, &holds).ok());
    CHECK(holds.holds_size() == 0);
  }
}

}  // namespace fxmesh::testing
