// Who a customer-facing call acts for, and whether that customer may make another call now.
// With a token key configured, the customer is the `sub` of the call's signed token (see
// common/customer_token.h): a request naming another customer is refused, one naming none acts
// for the token's. Without one (development), the customer is what the request claims. GetQuote
// and Exchange are also rate-limited per customer.
#pragma once

#include <grpcpp/server_context.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/customer_token.h"
#include "common/limits.h"
#include "common/rate_limiter.h"

namespace fxmesh::coordinator {

struct CustomerAccessOptions {
  // No key file: customers are claimed by the caller, not authenticated (development only).
  CustomerTokenOptions token;
  // GetQuote and Exchange calls per customer per second (0: unlimited), and the burst allowed.
  int requests_per_second = limits::kCustomerRequestsPerSecondDefault;
  int burst = limits::kCustomerBurstDefault;
};

class CustomerGate {
 public:
  static absl::StatusOr<std::unique_ptr<CustomerGate>> Create(const CustomerAccessOptions& options);

  // Whether customers are authenticated by token (false: claimed).
  bool authenticates() const { return verifier_ != nullptr; }

  // The customer the call acts for; `claimed` is the request's customer_id (may be empty).
  // UNAUTHENTICATED without a valid token, PERMISSION_DENIED when `claimed` is someone else.
  absl::StatusOr<std::string> Customer(const grpc::ServerContextBase& context,
                                       absl::string_view claimed, absl::Time now);

  // RESOURCE_EXHAUSTED, with when to retry, when `customer` is over its rate.
  absl::Status Admit(absl::string_view customer, absl::Time now);

 private:
  CustomerGate(std::unique_ptr<CustomerTokenVerifier> verifier,
               const CustomerAccessOptions& options)
      : verifier_(std::move(verifier)),
        limiter_(options.requests_per_second, options.burst, limits::kRateLimitedCustomersMax) {}

  std::unique_ptr<CustomerTokenVerifier> verifier_;
  RateLimiter limiter_;
};

}  // namespace fxmesh::coordinator
