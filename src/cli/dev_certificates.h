// The certificates of `fxmesh dev --tls`: a local CA and, signed by it, a certificate for each
// service and for each role the `fxmesh` tool and buf curl call as (gateway, operator,
// core-banking), each valid for localhost and 127.0.0.1 with its SPIFFE ID (docs/security.md).
// Made with the openssl command once, in one folder, and kept for the next run.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace fxmesh::cli {

// Makes what is missing in `dir`: ca.crt and ca.key, then <name>.crt and <name>.key for
// coordinator, relay, krw-ledger, fx-ledger, kafka, gateway, operator and core-banking, and
// operator-<name> for the operators the docs and `fxmesh demo` name (kim, lee, ops-kim, alice,
// bob), so that maker-checker can be tried with two of them.
// Also the local identity provider's key pair for customer tokens, <kDevCustomerTokenKey>.key
// and .pub: the tool signs a customer's token with it, the coordinator verifies with the .pub.
absl::Status MakeDevCertificates(const std::string& dir);

inline constexpr char kDevCustomerTokenKey[] = "customer-tokens";

}  // namespace fxmesh::cli
