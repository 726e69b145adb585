// The transport-security flags every fxmesh service binary takes, for its server and its clients
// alike (also from FXMESH_TLS_CERT, FXMESH_TLS_KEY, FXMESH_TLS_CA, FXMESH_TLS_TRUST_DOMAIN).
#pragma once

#include "absl/status/status.h"
#include "common/tls.h"

namespace fxmesh {

// The flags' names, for ApplyEnvironmentToFlags.
inline constexpr std::initializer_list<absl::string_view> kTlsFlagNames = {
    "tls_cert", "tls_key", "tls_ca", "tls_trust_domain"};

// Reads the flags (after absl::ParseCommandLine).
TlsOptions TlsOptionsFromFlags();

}  // namespace fxmesh
