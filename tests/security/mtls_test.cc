// Proves that a ledger served with mutual TLS lets each caller do only what its certificate's
// identity may (the access table), over real TLS sockets: a plaintext caller, a caller without a
// certificate, one from another trust domain or another CA, and one whose role may not call the
// RPC are all refused and change nothing; and a rotated server certificate is served without a
// restart. Also the table itself, RPC by RPC.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/access_policy.h"
#include "common/clock.h"
#include "common/tls.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "ledger/ledger_server.h"
#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace fxmesh {
namespace {

using testing::TestPki;

constexpr char kDomain[] = "spiffe://fxmesh.local/";

// A ledger served with `tls`, on an SQLite database of its own.
std::unique_ptr<ledger::LedgerServer> StartLedger(const TlsOptions& tls) {
  ledger::LedgerServerOptions options;
  options.database.url = absl::StrCat("sqlite:", testing::MakeTempDir("fxmesh-mtls"), "/krw.db");
  options.currencies = *ParseCurrencyList("KRW");
  options.tls = tls;
  absl::StatusOr<std::unique_ptr<ledger::LedgerServer>> server =
      ledger::LedgerServer::Start(options, SystemClock::Get());
  REQUIRE(server.ok());
  return std::move(*server);
}

class Caller {
 public:
  Caller(int port, std::shared_ptr<grpc::ChannelCredentials> credentials)
      : stub_(v1::LedgerService::NewStub(
            grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), std::move(credentials)))) {}

  grpc::Status Deposit(const std::string& request_id, int64_t amount) {
    v1::ExternalTransferRequest request;
    request.set_request_id(request_id);
    request.set_account_id("alice-krw");
    request.mutable_amount()->set_currency("KRW");
    request.mutable_amount()->set_amount_minor(amount);
    v1::ExternalTransferResponse response;
    return Call(
        [&](grpc::ClientContext* context) { return stub_->Deposit(context, request, &response); });
  }
  grpc::Status OpenAccount() {
    v1::OpenAccountRequest request;
    request.set_account_id("alice-krw");
    request.set_currency("KRW");
    request.set_owner("alice");
    v1::AccountResponse response;
    return Call([&](grpc::ClientContext* context) {
      return stub_->OpenAccount(context, request, &response);
    });
  }
  grpc::Status Try(const std::string& saga_id) {
    v1::TryRequest request;
    request.mutable_branch()->set_saga_id(saga_id);
    request.mutable_branch()->set_branch("krw");
    request.set_debit_account_id("alice-krw");
    request.set_credit_account_id("position:KRW");
    request.mutable_amount()->set_currency("KRW");
    request.mutable_amount()->set_amount_minor(1'000);
    request.set_customer_id("alice");
    v1::BranchResponse response;
    return Call(
        [&](grpc::ClientContext* context) { return stub_->Try(context, request, &response); });
  }
  // alice's available balance, or -1 if the call is refused.
  int64_t Available() {
    v1::GetAccountRequest request;
    request.set_account_id("alice-krw");
    v1::Account account;
    grpc::Status status = Call([&](grpc::ClientContext* context) {
      return stub_->GetAccount(context, request, &account);
    });
    return status.ok() ? account.available_minor() + account.held_minor() : -1;
  }
  // The common name of the certificate the server presented on the last call.
  std::string server_name() const { return server_name_; }

 private:
  template <typename Rpc>
  grpc::Status Call(Rpc rpc) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status status = rpc(&context);
    if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context()) {
      for (const grpc::string_ref& name : auth->FindPropertyValues("x509_common_name"))
        server_name_.assign(name.data(), name.size());
    }
    return status;
  }

  std::unique_ptr<v1::LedgerService::Stub> stub_;
  std::string server_name_;
};

// TLS that trusts `ca_file` and presents no certificate.
std::shared_ptr<grpc::ChannelCredentials> WithoutCertificate(const std::string& ca_file) {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(ca_file, 1));
  tls.watch_root_certs();
  return grpc::experimental::TlsCredentials(tls);
}

TEST_CASE("a ledger over mutual TLS lets each identity do only what the table allows",
          "[integration][security]") {
  TestPki pki;
  std::unique_ptr<ledger::LedgerServer> ledger =
      StartLedger(pki.Issue("krw-ledger", absl::StrCat(kDomain, "ledger/krw"), "krw-ledger"));
  const int port = ledger->port();
  Caller bank(port, NewChannelCredentials(
                        pki.Issue("core-banking", absl::StrCat(kDomain, "core-banking/branch"))));
  Caller coordinator(
      port, NewChannelCredentials(pki.Issue("coordinator", absl::StrCat(kDomain, "coordinator"))));
  Caller gateway(port,
                 NewChannelCredentials(pki.Issue("gateway", absl::StrCat(kDomain, "gateway/web"))));
  Caller operator_kim(
      port, NewChannelCredentials(pki.Issue("operator", absl::StrCat(kDomain, "operator/kim"))));

  // The core-banking system opens and funds the account; it cannot move money in a saga.
  REQUIRE(bank.OpenAccount().ok());
  REQUIRE(bank.Deposit("dep-1", 50'000).ok());
  CHECK(bank.Available() == 50'000);
  CHECK(bank.Try("0123456789abcdef0123456789abc001").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  // The coordinator moves money in a saga, but can neither deposit nor read accounts.
  CHECK(coordinator.Try("0123456789abcdef0123456789abc002").ok());
  grpc::Status deposited = coordinator.Deposit("dep-2", 1'000'000);
  CHECK(deposited.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(deposited.error_message(),
             Catch::Contains("coordinator may not call /fxmesh.v1.LedgerService/Deposit"));

  // A gateway reaches no ledger RPC; an operator only reads.
  CHECK(gateway.Try("0123456789abcdef0123456789abc003").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(gateway.Deposit("dep-3", 1'000'000).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(gateway.Available() == -1);
  CHECK(operator_kim.Available() == 50'000);
  CHECK(operator_kim.Deposit("dep-4", 1'000'000).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  // Callers with no identity fxmesh knows.
  Caller plaintext(port, grpc::InsecureChannelCredentials());
  CHECK_FALSE(plaintext.Deposit("dep-5", 1'000'000).ok());
  Caller anonymous(port, WithoutCertificate(pki.ca_file()));
  grpc::Status refused = anonymous.Deposit("dep-6", 1'000'000);
  CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(refused.error_message(), Catch::Contains("client certificate"));
  Caller foreign(port, NewChannelCredentials(
                           pki.Issue("foreign", "spiffe://other.example/core-banking/branch")));
  CHECK(foreign.Deposit("dep-7", 1'000'000).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  Caller unknown_role(
      port, NewChannelCredentials(pki.Issue("unknown", absl::StrCat(kDomain, "ledger/fx"))));
  CHECK(unknown_role.Deposit("dep-8", 1'000'000).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  TestPki stranger_ca("stranger-ca");
  Caller stranger(port, NewChannelCredentials(stranger_ca.Issue(
                            "core-banking", absl::StrCat(kDomain, "core-banking/branch"))));
  CHECK_FALSE(stranger.Deposit("dep-9", 1'000'000).ok());

  // Nothing refused changed anything: 50,000 deposited, 1,000 held by the coordinator's Try.
  CHECK(bank.Available() == 50'000);
}

TEST_CASE("a rotated server certificate is served without a restart", "[integration][security]") {
  TestPki pki;
  TlsOptions served = pki.Issue("krw-ledger", absl::StrCat(kDomain, "ledger/krw"), "ledger-v1");
  served.refresh = absl::Seconds(1);
  std::unique_ptr<ledger::LedgerServer> ledger = StartLedger(served);
  const TlsOptions bank = pki.Issue("core-banking", absl::StrCat(kDomain, "core-banking/branch"));
  Caller before(ledger->port(), NewChannelCredentials(bank));
  REQUIRE(before.OpenAccount().ok());
  CHECK(before.server_name() == "ledger-v1");

  pki.Issue("krw-ledger", absl::StrCat(kDomain, "ledger/krw"), "ledger-v2");
  std::string presented;
  for (int attempt = 0; attempt < 50 && presented != "ledger-v2"; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    Caller after(ledger->port(), NewChannelCredentials(bank));
    CHECK(after.Available() == 0);
    presented = after.server_name();
  }
  CHECK(presented == "ledger-v2");
}

TEST_CASE("the access table names who may call each RPC and refuses the rest", "[unit][security]") {
  const std::string ledger = "/fxmesh.v1.LedgerService/";
  for (const char* method : {"Try", "Confirm", "Cancel"}) {
    CHECK(MayCall(Role::kCoordinator, ledger + method));
    CHECK(MayCall(Role::kRelay, ledger + method));
    CHECK_FALSE(MayCall(Role::kCoreBanking, ledger + method));
    CHECK_FALSE(MayCall(Role::kOperator, ledger + method));
    CHECK_FALSE(MayCall(Role::kGateway, ledger + method));
  }
  for (const char* method : {"OpenAccount", "SetAccountFrozen", "Deposit", "Withdraw"}) {
    CHECK(MayCall(Role::kCoreBanking, ledger + method));
    for (Role role : {Role::kCoordinator, Role::kRelay, Role::kOperator, Role::kGateway})
      CHECK_FALSE(MayCall(role, ledger + method));
  }
  CHECK(MayCall(Role::kGateway, "/fxmesh.v1.ExchangeService/Exchange"));
  CHECK_FALSE(MayCall(Role::kOperator, "/fxmesh.v1.ExchangeService/Exchange"));
  CHECK(MayCall(Role::kOperator, "/fxmesh.v1.OpsService/ApproveResolution"));
  CHECK_FALSE(MayCall(Role::kGateway, "/fxmesh.v1.OpsService/ApproveResolution"));
  CHECK_FALSE(MayCall(Role::kCoordinator, "/fxmesh.v1.OpsService/ListSagas"));
  CHECK(MayCall(Role::kGateway, "/grpc.health.v1.Health/Check"));
  // buf curl and grpcurl ask for reflection v1 before v1alpha.
  CHECK(MayCall(Role::kOperator, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"));
  CHECK(MayCall(Role::kOperator, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"));
  // Default deny: what the table does not name, nobody may call.
  for (const char* method :
       {"/fxmesh.v1.LedgerService/NewMethod", "/fxmesh.v1.Unknown/Try", "", "/", "Try",
        "/fxmesh.v1.LedgerService", "/fxmesh.v1.LedgerService/Try/extra"}) {
    for (Role role :
         {Role::kCoordinator, Role::kRelay, Role::kCoreBanking, Role::kOperator, Role::kGateway})
      CHECK_FALSE(MayCall(role, method));
  }
}

TEST_CASE("identities are read from SPIFFE IDs of the trust domain only", "[unit][security]") {
  absl::StatusOr<Identity> kim =
      ParseIdentity("spiffe://fxmesh.local/operator/kim", "fxmesh.local");
  REQUIRE(kim.ok());
  CHECK(kim->role == Role::kOperator);
  CHECK(kim->ToString() == "operator/kim");
  CHECK(ParseIdentity("spiffe://fxmesh.local/coordinator", "fxmesh.local")->ToString() ==
        "coordinator");
  CHECK_FALSE(ParseIdentity("spiffe://fxmesh.local/operator", "fxmesh.local").ok());
  CHECK_FALSE(ParseIdentity("spiffe://fxmesh.local.evil/operator/kim", "fxmesh.local").ok());
  CHECK_FALSE(ParseIdentity("spiffe://evil/fxmesh.local/operator/kim", "fxmesh.local").ok());
  CHECK_FALSE(ParseIdentity("spiffe://fxmesh.local/admin/kim", "fxmesh.local").ok());
  CHECK_FALSE(ParseIdentity("", "fxmesh.local").ok());
}

// How long before now `certificate_file`'s validity begins, in seconds (-1 if unreadable).
int64_t SecondsSinceNotBefore(const std::string& certificate_file) {
  FILE* file = fopen(certificate_file.c_str(), "r");
  if (file == nullptr) return -1;
  X509* certificate = PEM_read_X509(file, nullptr, nullptr, nullptr);
  fclose(file);
  if (certificate == nullptr) return -1;
  int days = 0;
  int seconds = 0;
  const bool diffed = ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(certificate), nullptr);
  X509_free(certificate);
  return diffed ? int64_t{days} * 86'400 + seconds : -1;
}

// The exit code of a child that could not make a mount namespace (no privilege here).
constexpr int kNoNamespace = 77;

TEST_CASE("a backdated certificate is made where POSIX shared memory is unavailable",
          "[integration][security]") {
  // The bank test over mutual TLS backdates its certificates past the largest clock skew. CI
  // sandboxes may lack a writable /dev/shm, where the faketime wrapper command needs its
  // semaphore; it then refuses to run, and the run failed before starting. The child below makes
  // the PKI with /dev/shm read-only, in a mount namespace of its own.
  const std::string dir = testing::MakeTempDir("fxmesh-backdated-pki");
  const testing::PkiOptions options{.backdate = absl::Hours(1)};
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
        mount("tmpfs", "/dev/shm", "tmpfs", MS_RDONLY, nullptr) != 0) {
      _exit(kNoNamespace);
    }
    const bool made =
        testing::MakeCertificateAuthority(dir, "fxmesh-backdated-ca", options).ok() &&
        testing::IssueCertificate(dir, "service", "spiffe://fxmesh.local/relay", "relay", options)
            .ok();
    _exit(made ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == kNoNamespace) {
    WARN("no mount namespace can be made here; the PKI is made with /dev/shm as it is");
    REQUIRE(testing::MakeCertificateAuthority(dir, "fxmesh-backdated-ca", options).ok());
    REQUIRE(
        testing::IssueCertificate(dir, "service", "spiffe://fxmesh.local/relay", "relay", options)
            .ok());
  } else {
    INFO("see " << dir << "/openssl.log");
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  // Both valid from about an hour ago, by the real clock.
  for (const char* file : {"ca.crt", "service.crt"}) {
    INFO(file);
    const int64_t since = SecondsSinceNotBefore(absl::StrCat(dir, "/", file));
    CHECK(since >= 3'590);
    CHECK(since <= 3'900);
  }
}

}  // namespace
}  // namespace fxmesh
