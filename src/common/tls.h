// Transport security for every gRPC server and client of fxmesh: mutual TLS from a certificate,
// its key and a CA bundle, read again every limits::kCertificateRefreshSecondsDefault seconds so
// that a rotated certificate is picked up without a restart. Without files, plaintext.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/limits.h"

namespace fxmesh {

// The trust domain of fxmesh's SPIFFE IDs unless configured otherwise.
inline constexpr char kDefaultTrustDomain[] = "fxmesh.local";

struct TlsOptions {
  std::string certificate_file;  // PEM: this process's certificate (and its chain).
  std::string key_file;          // PEM: its private key.
  std::string ca_file;           // PEM: the CAs that peers' certificates must chain to.
  std::string trust_domain = kDefaultTrustDomain;
  absl::Duration refresh = absl::Seconds(limits::kCertificateRefreshSecondsDefault);

  bool enabled() const {
    return !certificate_file.empty() || !key_file.empty() || !ca_file.empty();
  }
};

// OK for plaintext (no file named) or for three readable files; INVALID_ARGUMENT naming what is
// missing otherwise (one file alone would silently mean plaintext).
absl::Status CheckTlsOptions(const TlsOptions& options);

// Server credentials: mutual TLS whose callers must present a certificate from the CA bundle, with
// the AccessPolicy table enforced on every call; plaintext without files.
std::shared_ptr<grpc::ServerCredentials> NewServerCredentials(const TlsOptions& options);

// Client credentials: TLS that checks the server's certificate against the CA bundle and the
// host name dialled, presenting this process's certificate; plaintext without files.
std::shared_ptr<grpc::ChannelCredentials> NewChannelCredentials(const TlsOptions& options);

// Logs loudly when a server listens in plaintext on an address other than loopback: anyone on
// that network can then call it, as anyone.
void WarnIfExposedInPlaintext(const TlsOptions& options, const std::string& address);

}  // namespace fxmesh
