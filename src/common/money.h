// Money rules (ARCHITECTURE.md §2): amounts are int64 minor units paired with an ISO 4217 code.
// No floating point anywhere money is computed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fxmesh {

struct Currency {
  std::string code;  // ISO 4217, three upper-case letters.
  int decimals = 0;  // Minor units per major unit is 10^decimals.
};

// Looks a code up in fxmesh's table of ISO 4217 currencies (KRW, JPY, USD, EUR, CNY, GBP, ...).
// NOT_FOUND names the code when it is unknown.
absl::StatusOr<Currency> LookupCurrency(absl::string_view code);

// Parses a comma-separated currency list such as "USD,EUR,JPY,CNY". An entry "XXX:N" declares a
// currency the table lacks, with N decimals. INVALID_ARGUMENT says which entry is wrong.
absl::StatusOr<std::vector<Currency>> ParseCurrencyList(absl::string_view spec);

// INVALID_ARGUMENT unless 0 < amount_minor <= limits::kAmountMinorMax; `field` names the amount.
absl::Status ValidateAmountMinor(int64_t amount_minor, absl::string_view field);

// a + b, or nullopt when the sum overflows int64.
std::optional<int64_t> CheckedAdd(int64_t a, int64_t b);

// "1,234.56 USD"-style text for humans, e.g. in error details and logs.
std::string FormatMoney(int64_t amount_minor, const Currency& currency);

}  // namespace fxmesh
