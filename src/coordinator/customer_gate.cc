#include "coordinator/customer_gate.h"

#include "absl/strings/str_cat.h"
#include "common/printable.h"

namespace fxmesh::coordinator {

absl::StatusOr<std::unique_ptr<CustomerGate>> CustomerGate::Create(
    const CustomerAccessOptions& options) {
  if (options.requests_per_second < 0 || options.burst < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "customer rate limit: ", options.requests_per_second, " calls per second with bursts of ",
        options.burst, "; give a rate of 0 (unlimited) or more, and a burst of 1 or more"));
  }
  std::unique_ptr<CustomerTokenVerifier> verifier;
  if (!options.token.public_key_file.empty()) {
    absl::StatusOr<std::unique_ptr<CustomerTokenVerifier>> loaded =
        CustomerTokenVerifier::Load(options.token);
    if (!loaded.ok()) return loaded.status();
    verifier = std::move(*loaded);
  }
  return std::unique_ptr<CustomerGate>(new CustomerGate(std::move(verifier), options));
}

absl::StatusOr<std::string> CustomerGate::Customer(const grpc::ServerContextBase& context,
                                                   absl::string_view claimed, absl::Time now) {
  if (!verifier_) return std::string(claimed);
  absl::string_view authorization;
  const auto& metadata = context.client_metadata();
  if (auto found = metadata.find(kAuthorizationMetadata); found != metadata.end()) {
    authorization = absl::string_view(found->second.data(), found->second.size());
  }
  absl::StatusOr<std::string> customer = verifier_->VerifyBearer(authorization, now);
  if (!customer.ok()) return customer.status();
  if (!claimed.empty() && claimed != *customer) {
    return absl::PermissionDeniedError(
        absl::StrCat("this call's customer token is for ", *customer, "; it cannot act for ",
                     PrintableText(claimed, limits::kQuotedTextBytesMax)));
  }
  return customer;
}

absl::Status CustomerGate::Admit(absl::string_view customer, absl::Time now) {
  const absl::Duration wait = limiter_.Take(customer, now);
  if (wait == absl::ZeroDuration()) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("customer ", customer, " is over its rate of ", limiter_.per_second(),
                   " quotes and exchanges per second; retry in ",
                   absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))), " ms"));
}

}  // namespace fxmesh::coordinator
