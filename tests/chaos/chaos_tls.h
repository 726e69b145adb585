// Mutual TLS for a chaos run (fxmesh-chaos --tls): a CA of the run's own in the run's folder, a
// certificate for every service, and one for each role the harness itself calls as, so that the
// run goes through the handshakes and the access table (docs/security.md) a production mesh does.
//
//   as             SPIFFE ID (spiffe://fxmesh.local/...)   for
//   gateway        gateway/chaos                           the workload's quotes and exchanges
//   operator       operator/chaos-operator                 OpsService, KafkaControlService, health
//   core-banking   core-banking/chaos                      opening, funding, reading accounts
//
// and an identity provider's key (customer-tokens.key) that signs each customer's token.
//
// Every certificate is valid for 127.0.0.1 and localhost, the names the harness and the services
// dial (the ledgers' TCP proxies forward bytes, so a caller sees the ledger's own certificate).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/chaos/fault_plan.h"

namespace fxmesh::chaos {

// The operator the harness is. The checker's dead-letter replays name it: over mutual TLS an
// operator may act only as the name in their certificate.
inline constexpr char kChaosOperator[] = "chaos-operator";

// How far back the certificates' validity begins. A service whose clock the nemesis sets back
// refuses a certificate that is not yet valid by its clock, so they must be older than any skew.
inline constexpr absl::Duration kCertificateBackdate = absl::Hours(1);
static_assert(kCertificateBackdate > absl::Milliseconds(kClockSkewMsMax));

// The credentials the harness calls with, by the role it plays; plaintext ones without TLS.
struct ChaosCredentials {
  std::shared_ptr<grpc::ChannelCredentials> gateway;
  std::shared_ptr<grpc::ChannelCredentials> operator_role;
  std::shared_ptr<grpc::ChannelCredentials> core_banking;
};

class ChaosTls {
 public:
  // No TLS: services get no flags, and the harness calls in plaintext.
  ChaosTls();
  // Makes `dir` (which must not exist yet), the CA and every certificate in it.
  static absl::StatusOr<ChaosTls> Make(const std::string& dir);

  bool enabled() const { return !dir_.empty(); }
  // The --tls_cert, --tls_key and --tls_ca flags of a service presenting `identity`'s certificate:
  // "coordinator", "relay", "krw-ledger", "fx-ledger" or "kafka". None without TLS.
  std::vector<std::string> ServiceFlags(const std::string& identity) const;
  const ChaosCredentials& credentials() const { return credentials_; }
  // Over TLS customers are authenticated too, as a bank's gateway does it: the coordinator
  // verifies tokens signed with the run's identity-provider key, and the workload's calls carry
  // their customer's token. Adds it to `context`; nothing without TLS.
  void AddCustomerToken(grpc::ClientContext& context, const std::string& customer) const;

 private:
  std::string dir_;
  std::string token_key_pem_;
  ChaosCredentials credentials_;
};

}  // namespace fxmesh::chaos
