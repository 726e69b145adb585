#include "common/money.h"

#include <array>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/limits.h"

namespace fxmesh {
namespace {

struct KnownCurrency {
  absl::string_view code;
  int decimals;
};

// Minor-unit exponents from ISO 4217.
constexpr std::array<KnownCurrency, 14> kKnownCurrencies = {{
    {"KRW", 0},
    {"JPY", 0},
    {"USD", 2},
    {"EUR", 2},
    {"CNY", 2},
    {"GBP", 2},
    {"CHF", 2},
    {"AUD", 2},
    {"CAD", 2},
    {"HKD", 2},
    {"SGD", 2},
    {"NZD", 2},
    {"VND", 0},
    {"KWD", 3},
}};

bool IsCurrencyCodeShaped(absl::string_view code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Currency> LookupCurrency(absl::string_view code) {
  for (const KnownCurrency& known : kKnownCurrencies) {
    if (known.code == code) return Currency{std::string(known.code), known.decimals};
  }
  return absl::NotFoundError(absl::StrCat("unknown currency '", code, "'"));
}

absl::StatusOr<std::vector<Currency>> ParseCurrencyList(absl::string_view spec) {
  std::vector<Currency> currencies;
  for (absl::string_view entry : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::vector<absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits(':', 1));
    absl::string_view code = parts[0];
    if (!IsCurrencyCodeShaped(code)) {
      return absl::InvalidArgumentError(
          absl::StrCat("currency '", entry, "' is not an ISO 4217 code (three capital letters)"));
    }
    Currency currency{std::string(code), 0};
    if (parts.size() == 2) {
      if (!absl::SimpleAtoi(parts[1], &currency.decimals) || currency.decimals < 0 ||
          currency.decimals > 4) {
        return absl::InvalidArgumentError(
            absl::StrCat("currency '", entry, "' must give 0 to 4 decimals after the colon"));
      }
    } else {
      absl::StatusOr<Currency> known = LookupCurrency(code);
      if (!known.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("currency '", code, "' is not in fxmesh's table; declare its decimals as ",
                         code, ":2"));
      }
      currency = *known;
    }
    for (const Currency& seen : currencies) {
      if (seen.code == currency.code) {
        return absl::InvalidArgumentError(absl::StrCat("currency ", code, " is listed twice"));
      }
    }
    currencies.push_back(std::move(currency));
  }
  if (currencies.empty()) return absl::InvalidArgumentError("the currency list is empty");
  return currencies;
}

absl::Status ValidateAmountMinor(int64_t amount_minor, absl::string_view field) {
  if (amount_minor <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be a positive number of minor units, got ", amount_minor));
  }
  if (amount_minor > limits::kAmountMinorMax) {
    return absl::InvalidArgumentError(absl::StrCat(field, " ", amount_minor,
                                                   " exceeds the per-request maximum of ",
                                                   limits::kAmountMinorMax, " minor units"));
  }
  return absl::OkStatus();
}

std::optional<int64_t> CheckedAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

std::string FormatMoney(int64_t amount_minor, const Currency& currency) {
  // Digits are formatted from the unsigned magnitude so INT64_MIN prints correctly.
  const bool negative = amount_minor < 0;
  uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(amount_minor) : static_cast<uint64_t>(amount_minor);
  uint64_t scale = 1;
  for (int i = 0; i < currency.decimals; ++i) scale *= 10;
  std::string whole = absl::StrCat(magnitude / scale);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(whole[i]);
  }
  std::string text = absl::StrCat(negative ? "-" : "", grouped);
  if (currency.decimals > 0) {
    std::string fraction = absl::StrCat(magnitude % scale);
    fraction.insert(0, currency.decimals - fraction.size(), '0');
    absl::StrAppend(&text, ".", fraction);
  }
  absl::StrAppend(&text, " ", currency.code);
  return text;
}

}  // namespace fxmesh
