#include "common/ids.h"

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/limits.h"

namespace fxmesh {
namespace {

constexpr size_t kQuotedLengthMax = 40;

bool IsKeyCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

}  // namespace

std::string QuoteForMessage(absl::string_view value) {
  if (value.size() <= kQuotedLengthMax) return absl::StrCat("'", absl::CHexEscape(value), "'");
  return absl::StrCat("'", absl::CHexEscape(value.substr(0, kQuotedLengthMax)), "...' (",
                      value.size(), " characters)");
}

absl::Status ValidateSagaId(absl::string_view saga_id) {
  bool shaped = saga_id.size() == limits::kSagaIdHexLength;
  bool all_zero = true;
  for (char c : saga_id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) shaped = false;
    if (c != '0') all_zero = false;
  }
  if (saga_id.empty()) return absl::InvalidArgumentError("saga_id is required");
  if (!shaped || all_zero) {
    return absl::InvalidArgumentError(absl::StrCat(
        "saga_id must be 32 lowercase hex digits, not all zero; got ", QuoteForMessage(saga_id)));
  }
  return absl::OkStatus();
}

absl::Status ValidateBranchName(absl::string_view branch) {
  if (branch.empty()) return absl::InvalidArgumentError("branch is required");
  bool shaped =
      branch.size() <= limits::kBranchNameLengthMax && branch[0] >= 'a' && branch[0] <= 'z';
  for (char c : branch) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) shaped = false;
  }
  if (!shaped) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "branch must start with a lowercase letter and use only [a-z0-9_-], at most %d "
        "characters; got %s",
        limits::kBranchNameLengthMax, QuoteForMessage(branch)));
  }
  return absl::OkStatus();
}

absl::Status ValidateKey(absl::string_view value, absl::string_view field, size_t length_max) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  if (value.size() > length_max) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", value.size(), " characters long; the maximum is ", length_max));
  }
  for (char c : value) {
    if (!IsKeyCharacter(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " may use only letters, digits and . _ : -; got ", QuoteForMessage(value)));
    }
  }
  return absl::OkStatus();
}

std::string NewSagaId() {
  // random_device reads the kernel's entropy source; two 64-bit draws make the 128-bit id.
  static thread_local std::random_device device;
  std::string id;
  for (int i = 0; i < 2; ++i) {
    uint64_t word = (static_cast<uint64_t>(device()) << 32) | device();
    absl::StrAppend(&id, absl::Hex(word, absl::kZeroPad16));
  }
  return id;
}

absl::Status ValidateOperator(absl::string_view operator_name) {
  return ValidateKey(operator_name, "operator", limits::kAccountIdLengthMax);
}

absl::Status ValidateNote(absl::string_view text, absl::string_view field) {
  if (text.size() > limits::kQuotedTextBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is ", text.size(), " bytes long; the maximum is ", limits::kQuotedTextBytesMax));
  }
  return absl::OkStatus();
}

bool SameOperator(absl::string_view a, absl::string_view b) { return absl::EqualsIgnoreCase(a, b); }

}  // namespace fxmesh
