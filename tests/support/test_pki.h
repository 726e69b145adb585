// A throw-away public key infrastructure for TLS tests (pki.h, failing the test on an error): a CA,
// and certificates it issues for a SPIFFE ID, valid for 127.0.0.1 and localhost.
#pragma once

#include <string>

#include "common/tls.h"

namespace fxmesh::testing {

class TestPki {
 public:
  // A new CA named `name` in a new temporary folder.
  explicit TestPki(const std::string& name = "fxmesh-test-ca");

  // Issues (or issues again, replacing the files) the certificate `file_name`.crt and its key
  // for `spiffe_id` with the common name `common_name`; returns TlsOptions naming them and the CA.
  TlsOptions Issue(const std::string& file_name, const std::string& spiffe_id,
                   const std::string& common_name = "fxmesh-test");

  // A key pair for signing customer tokens: `algorithm` "ec" (P-256, ES256) or "rsa" (2048 bits,
  // RS256). Returns the private key's file; the public key is beside it, `name`.pub.
  struct SigningKey {
    std::string private_file;
    std::string public_file;
  };
  SigningKey MakeSigningKey(const std::string& name, const std::string& algorithm = "ec");

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.crt"; }

 private:
  std::string dir_;
};

}  // namespace fxmesh::testing
