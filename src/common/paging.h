// Page size and page token rules shared by every List RPC: page_size 0 means the default, larger
// than the maximum means the maximum (AIP-158), negative is an error; tokens are the last row's
// position, as decimal text, opaque to clients.
#pragma once

#include <algorithm>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/ids.h"
#include "common/limits.h"

namespace fxmesh {

inline absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must not be negative, got ", requested));
  }
  if (requested == 0) return limits::kListPageSizeDefault;
  return std::min<int>(requested, limits::kListPageSizeMax);
}

// The position after which the page starts; 0 for the first page.
inline absl::StatusOr<int64_t> ParsePageToken(absl::string_view token) {
  if (token.empty()) return 0;
  int64_t after = 0;
  if (!absl::SimpleAtoi(token, &after) || after < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_token ", QuoteForMessage(token), " is not one this service issued"));
  }
  return after;
}

}  // namespace fxmesh
