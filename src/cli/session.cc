#include "cli/session.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/dev_certificates.h"
#include "cli/progress.h"
#include "common/customer_token.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "common/tls.h"

namespace fxmesh::cli {

absl::string_view ServiceName(Service service) {
  switch (service) {
    case Service::kCoordinator:
      return "coordinator";
    case Service::kKrwLedger:
      return "krw-ledger";
    case Service::kFxLedger:
      return "fx-ledger";
  }
  return "";
}

const std::string& Session::Address(Service service) const {
  switch (service) {
    case Service::kKrwLedger:
      return options_.krw_ledger;
    case Service::kFxLedger:
      return options_.fx_ledger;
    case Service::kCoordinator:
      break;
  }
  return options_.coordinator;
}

std::shared_ptr<grpc::ChannelCredentials> CredentialsFor(const GlobalOptions& options, Role role,
                                                         absl::string_view certificate) {
  if (options.tls_dir.empty()) return grpc::InsecureChannelCredentials();
  TlsOptions tls;
  const std::string base =
      absl::StrCat(options.tls_dir, "/", certificate.empty() ? RoleName(role) : certificate);
  tls.certificate_file = base + ".crt";
  tls.key_file = base + ".key";
  tls.ca_file = options.tls_dir + "/ca.crt";
  return NewChannelCredentials(tls);
}

std::shared_ptr<grpc::Channel> Session::Channel(Service service, Role role) {
  std::shared_ptr<grpc::Channel>& channel = channels_[{service, role}];
  if (channel == nullptr) channel = NewChannel(Address(service), CredentialsFor(options_, role));
  return channel;
}

v1::ExchangeService::Stub& Session::exchange() {
  if (exchange_ == nullptr)
    exchange_ = v1::ExchangeService::NewStub(Channel(Service::kCoordinator, Role::kGateway));
  return *exchange_;
}

v1::OpsService::Stub& Session::ops(absl::string_view as) {
  std::string certificate;
  if (!options_.tls_dir.empty() && !as.empty() &&
      std::filesystem::exists(absl::StrCat(options_.tls_dir, "/operator-", as, ".crt"))) {
    certificate = absl::StrCat("operator-", as);
  }
  std::unique_ptr<v1::OpsService::Stub>& stub = ops_[certificate];
  if (stub == nullptr) {
    stub = v1::OpsService::NewStub(
        certificate.empty() ? Channel(Service::kCoordinator, Role::kOperator)
                            : NewChannel(Address(Service::kCoordinator),
                                         CredentialsFor(options_, Role::kOperator, certificate)));
  }
  return *stub;
}

v1::LedgerService::Stub& Session::ledger(Service service) {
  std::unique_ptr<v1::LedgerService::Stub>& stub = service == Service::kKrwLedger ? krw_ : fx_;
  // The bank's side of a ledger: accounts, deposits, withdrawals, and reading them.
  if (stub == nullptr) stub = v1::LedgerService::NewStub(Channel(service, Role::kCoreBanking));
  return *stub;
}

v1::LedgerFaultService::Stub& Session::faults(Service ledger) {
  std::unique_ptr<v1::LedgerFaultService::Stub>& stub =
      ledger == Service::kKrwLedger ? krw_faults_ : fx_faults_;
  if (stub == nullptr) stub = v1::LedgerFaultService::NewStub(Channel(ledger, Role::kOperator));
  return *stub;
}

bool Session::SignsCustomerTokens() const {
  return !options_.tls_dir.empty() &&
         std::filesystem::exists(absl::StrCat(options_.tls_dir, "/", kDevCustomerTokenKey, ".key"));
}

absl::StatusOr<std::string> Session::CustomerToken() const {
  const std::string key_file = absl::StrCat(options_.tls_dir, "/", kDevCustomerTokenKey, ".key");
  std::ifstream in(key_file);
  std::ostringstream key;
  key << in.rdbuf();
  const absl::Time now = absl::Now();
  absl::StatusOr<std::string> token = SignCustomerToken(
      key.str(), {.customer = customer_,
                  .issued_at = now,
                  .expires = now + absl::Seconds(limits::kCliCustomerTokenSeconds)});
  if (!token.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot sign a customer token with ", key_file,
                                                   ": ", token.status().message()));
  }
  return token;
}

absl::Status Session::AddCustomerToken(grpc::ClientContext& context) const {
  if (customer_.empty() || !SignsCustomerTokens()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string token, CustomerToken());
  context.AddMetadata(kAuthorizationMetadata, absl::StrCat("Bearer ", token));
  return absl::OkStatus();
}

absl::Status Session::Call(Service service, absl::string_view doing,
                           absl::FunctionRef<grpc::Status(grpc::ClientContext&)> call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(TimeoutMs(limits::kCliTimeoutMsDefault)));
  if (service == Service::kCoordinator) RETURN_IF_ERROR(AddCustomerToken(context));
  grpc::Status status;
  {
    Progress progress(printer_.err(), printer_.options().progress, std::string(doing));
    status = call(context);
  }
  if (status.ok()) return absl::OkStatus();
  return CallError(service, status);
}

absl::Status Session::CallError(Service service, const grpc::Status& status) const {
  const absl::Status error = FromGrpcStatus(status);
  // The code's name leads, as gRPC tools print it; the wording says whether anything was decided.
  const std::string where = absl::StrCat(ServiceName(service), " at ", Address(service));
  const std::string said =
      absl::StrCat(absl::StatusCodeToString(error.code()), ": ", error.message());
  return absl::Status(error.code(), ExitCodeFor(error) == ExitCode::kNoAnswer
                                        ? absl::StrCat("no answer from ", where, ": ", said)
                                        : absl::StrCat(where, " refused the request: ", said));
}

}  // namespace fxmesh::cli
