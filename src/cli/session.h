// One run of the tool: the global options, the printer, and a gRPC channel to each service,
// opened on first use. Every call goes through Call(), which gives it a deadline, shows progress
// while it runs, and names the service in any error.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/command_line.h"
#include "cli/output.h"
#include "common/access_policy.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "fxmesh/v1/ledger_fault.grpc.pb.h"
#include "fxmesh/v1/ops.grpc.pb.h"

namespace fxmesh::cli {

enum class Service { kCoordinator, kKrwLedger, kFxLedger };

// Credentials for a call that needs `role`: with --tls-dir, mutual TLS presenting that role's
// certificate from the folder (<dir>/<role>.crt, or `certificate`.crt when named); otherwise
// plaintext.
std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const GlobalOptions& options, Role role,
                                                         absl::string_view certificate = "");

// "coordinator", "krw-ledger", "fx-ledger": the participant names the coordinator uses too.
absl::string_view ServiceName(Service service);

class Session {
 public:
  Session(const GlobalOptions& options, Printer& printer) : options_(options), printer_(printer) {}

  const GlobalOptions& options() const { return options_; }
  Printer& printer() { return printer_; }
  const std::string& Address(Service service) const;

  v1::ExchangeService::Stub& exchange();
  // The operator API; an action names its operator in `as`. Over mutual TLS the operator is the
  // certificate: operator-<as>.crt in --tls-dir when there is one, else operator.crt.
  v1::OpsService::Stub& ops(absl::string_view as = "");
  v1::LedgerService::Stub& ledger(Service service);
  // A ledger's dev fault switch: served only by ledgers started with --dev_faults (`fxmesh dev`).
  v1::LedgerFaultService::Stub& faults(Service ledger);

  // The customer this run's ExchangeService calls act for. With a customer-token key in
  // --tls-dir (`fxmesh dev --tls` makes one), each such call carries a token for them, signed as
  // the bank's gateway would; otherwise the customer is only named in the request.
  void ActFor(std::string customer) { customer_ = std::move(customer); }
  // Adds that token to `context` (nothing without a key or a customer).
  absl::Status AddCustomerToken(grpc::ClientContext& context) const;
  // A fresh token for that customer.
  absl::StatusOr<std::string> CustomerToken() const;
  // Whether calls carry customer tokens: then a command must name its customer.
  bool SignsCustomerTokens() const;

  // The deadline of each call: --timeout, or `default_ms` for this command.
  int64_t TimeoutMs(int64_t default_ms) const { return options_.timeout_ms.value_or(default_ms); }

  // Runs `call` with a fresh context whose deadline is --timeout (or the default) from now,
  // showing "<doing>" as progress on a terminal. A failure keeps its gRPC code, and its message
  // names the service and its address.
  absl::Status Call(Service service, absl::string_view doing,
                    absl::FunctionRef<grpc::Status(grpc::ClientContext&)> call);
  // The error for a call to `service` that ended with `status`.
  absl::Status CallError(Service service, const grpc::Status& status) const;

  // A command that changes something says here what a person should do when a call gets no
  // definite answer (exit code 4): how to repeat it safely (with the same key or request id), or
  // how to check whether it happened. Shown on stderr with that error.
  void SetNoAnswerHint(std::string hint) { no_answer_hint_ = std::move(hint); }
  const std::string& no_answer_hint() const { return no_answer_hint_; }

 private:
  std::shared_ptr<grpc::Channel> Channel(Service service, Role role);

  const GlobalOptions& options_;
  Printer& printer_;
  std::map<std::pair<Service, Role>, std::shared_ptr<grpc::Channel>> channels_;
  std::unique_ptr<v1::ExchangeService::Stub> exchange_;
  std::map<std::string, std::unique_ptr<v1::OpsService::Stub>> ops_;
  std::unique_ptr<v1::LedgerService::Stub> krw_, fx_;
  std::unique_ptr<v1::LedgerFaultService::Stub> krw_faults_, fx_faults_;
  std::string no_answer_hint_;
  std::string customer_;
};

}  // namespace fxmesh::cli
