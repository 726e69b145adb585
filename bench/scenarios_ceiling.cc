// The ceiling: the RPCs of an fxmesh exchange with nothing behind them. The client calls GetQuote
// and Exchange on a coordinator-shaped server, whose Exchange calls Try on two ledger-shaped
// servers in parallel, then Confirm on both in parallel, then answers COMPLETED. No handler touches
// storage, so the figure is what gRPC on loopback and these cores allow.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "bench/scenario.h"
#include "common/grpc_server.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/ledger.grpc.pb.h"

namespace fxmesh::bench {
namespace {

constexpr auto kCallDeadline = std::chrono::seconds(10);

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + kCallDeadline;
}

// Answers every Try and Confirm APPLIED at once.
class NullLedger final : public v1::LedgerService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Try(grpc::CallbackServerContext* context, const v1::TryRequest*,
                                v1::BranchResponse* response) override {
    return Applied(context, response);
  }
  grpc::ServerUnaryReactor* Confirm(grpc::CallbackServerContext* context, const v1::BranchRequest*,
                                    v1::BranchResponse* response) override {
    return Applied(context, response);
  }

 private:
  static grpc::ServerUnaryReactor* Applied(grpc::CallbackServerContext* context,
                                           v1::BranchResponse* response) {
    response->set_outcome(v1::OUTCOME_APPLIED);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// One Exchange on the null coordinator: its four ledger calls, alive until the last has ended.
struct NullSaga {
  grpc::ServerUnaryReactor* reactor = nullptr;
  v1::ExchangeResponse* response = nullptr;
  grpc::ClientContext try_contexts[2];
  v1::TryRequest try_requests[2];
  grpc::ClientContext confirm_contexts[2];
  v1::BranchRequest confirm_requests[2];
  v1::BranchResponse responses[4];
  std::atomic<int> tries_left{2};
  std::atomic<int> confirms_left{2};
  std::atomic<bool> failed{false};
};

// Quotes without storing them; an Exchange is two parallel Trys, then two parallel Confirms.
class NullCoordinator final : public v1::ExchangeService::CallbackService {
 public:
  NullCoordinator(int krw_port, int fx_port) {
    for (int port : {krw_port, fx_port}) {
      ledgers_.push_back(v1::LedgerService::NewStub(grpc::CreateChannel(
          absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials())));
    }
  }

  grpc::ServerUnaryReactor* GetQuote(grpc::CallbackServerContext* context,
                                     const v1::GetQuoteRequest* request,
                                     v1::Quote* quote) override {
    quote->set_quote_id(absl::StrCat("q-", next_quote_++));
    quote->set_customer_id(request->customer_id());
    quote->mutable_buy()->set_currency(request->buy_currency());
    quote->mutable_buy()->set_amount_minor(request->buy_amount_minor());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Exchange(grpc::CallbackServerContext* context,
                                     const v1::ExchangeRequest* request,
                                     v1::ExchangeResponse* response) override {
    auto saga = std::make_shared<NullSaga>();
    saga->reactor = context->DefaultReactor();
    saga->response = response;
    for (int i = 0; i < 2; ++i) {
      v1::TryRequest& tried = saga->try_requests[i];
      tried.mutable_branch()->set_saga_id(request->idempotency_key());
      tried.mutable_branch()->set_branch(i == 0 ? "krw" : "fx");
      tried.set_customer_id(request->customer_id());
      tried.set_debit_account_id(i == 0 ? request->source_account_id() : "position:USD");
      tried.set_credit_account_id(i == 0 ? "position:KRW" : request->target_account_id());
      saga->try_contexts[i].set_deadline(Deadline());
      ledgers_[i]->async()->Try(&saga->try_contexts[i], &tried, &saga->responses[i],
                                [this, saga](grpc::Status status) {
                                  if (!status.ok()) saga->failed = true;
                                  if (--saga->tries_left == 0) Confirm(saga);
                                });
    }
    return saga->reactor;
  }

 private:
  void Confirm(const std::shared_ptr<NullSaga>& saga) {
    if (saga->failed) return saga->reactor->Finish(grpc::Status(grpc::UNAVAILABLE, "a Try failed"));
    for (int i = 0; i < 2; ++i) {
      *saga->confirm_requests[i].mutable_branch() = saga->try_requests[i].branch();
      saga->confirm_contexts[i].set_deadline(Deadline());
      ledgers_[i]->async()->Confirm(
          &saga->confirm_contexts[i], &saga->confirm_requests[i], &saga->responses[2 + i],
          [saga](grpc::Status status) {
            if (!status.ok()) saga->failed = true;
            if (--saga->confirms_left > 0) return;
            if (saga->failed) {
              return saga->reactor->Finish(grpc::Status(grpc::UNAVAILABLE, "a Confirm failed"));
            }
            saga->response->mutable_exchange()->set_status(v1::EXCHANGE_STATUS_COMPLETED);
            saga->reactor->Finish(grpc::Status::OK);
          });
    }
  }

  std::vector<std::unique_ptr<v1::LedgerService::Stub>> ledgers_;
  std::atomic<int64_t> next_quote_{0};
};

class CeilingScenario final : public Scenario {
 public:
  ~CeilingScenario() override {
    for (auto* server : {&coordinator_server_, &krw_server_, &fx_server_}) {
      if (*server) (*server)->Shutdown(absl::Seconds(1));
    }
  }

  absl::Status Start(const ScenarioOptions& options) {
    options_ = options;
    auto krw = GrpcServer::Start("127.0.0.1:0", {&krw_ledger_});
    if (!krw.ok()) return krw.status();
    krw_server_ = *std::move(krw);
    auto fx = GrpcServer::Start("127.0.0.1:0", {&fx_ledger_});
    if (!fx.ok()) return fx.status();
    fx_server_ = *std::move(fx);
    coordinator_ = std::make_unique<NullCoordinator>(krw_server_->port(), fx_server_->port());
    auto coordinator = GrpcServer::Start("127.0.0.1:0", {coordinator_.get()});
    if (!coordinator.ok()) return coordinator.status();
    coordinator_server_ = *std::move(coordinator);
    exchange_stub_ = v1::ExchangeService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", coordinator_server_->port()),
                            grpc::InsecureChannelCredentials()));
    return absl::OkStatus();
  }

  void Exchange(int64_t n, std::function<void(OpResult)> done) override {
    QuoteThenExchange(*exchange_stub_, options_, n, std::move(done));
  }

  std::string OperationText() const override {
    return "GetQuote, then Exchange (2 parallel Trys, then 2 parallel Confirms; no storage)";
  }

 private:
  ScenarioOptions options_;
  NullLedger krw_ledger_;
  NullLedger fx_ledger_;
  std::unique_ptr<NullCoordinator> coordinator_;
  std::unique_ptr<GrpcServer> krw_server_;
  std::unique_ptr<GrpcServer> fx_server_;
  std::unique_ptr<GrpcServer> coordinator_server_;
  std::unique_ptr<v1::ExchangeService::Stub> exchange_stub_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> StartCeilingScenario(const ScenarioOptions& options) {
  auto scenario = std::make_unique<CeilingScenario>();
  absl::Status status = scenario->Start(options);
  if (!status.ok()) return status;
  return scenario;
}

}  // namespace fxmesh::bench
