#include "cli/amount.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace fxmesh::cli {
namespace {

// Removes the thousands separators of "1,234,567", refusing commas anywhere else: "1,23" is more
// likely a decimal comma than a thousands separator, and guessing would move money by 100x.
absl::StatusOr<std::string> StripGroupSeparators(absl::string_view whole, absl::string_view text) {
  if (whole.find(',') == absl::string_view::npos) return std::string(whole);
  std::vector<absl::string_view> groups = absl::StrSplit(whole, ',');
  std::string digits;
  for (size_t i = 0; i < groups.size(); ++i) {
    const bool first = i == 0;
    if ((first && (groups[i].empty() || groups[i].size() > 3)) ||
        (!first && groups[i].size() != 3)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "amount '", text,
          "' has a misplaced ','; use '.' for decimals and ',' only between groups of three "
          "digits"));
    }
    absl::StrAppend(&digits, groups[i]);
  }
  return digits;
}

bool IsDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Currency> ParseCurrency(absl::string_view code) {
  const std::string upper = absl::AsciiStrToUpper(code);
  absl::StatusOr<Currency> currency = LookupCurrency(upper);
  if (currency.ok()) return currency;
  return absl::InvalidArgumentError(absl::StrCat("unknown currency '", code,
                                                 "'; fxmesh knows KRW, JPY, VND (no decimals), "
                                                 "USD, EUR, CNY, GBP, CHF, AUD, CAD, HKD, SGD, NZD "
                                                 "(2) and KWD (3)"));
}

absl::StatusOr<int64_t> ParseScaledDecimal(absl::string_view text, int decimals, int64_t max_scaled,
                                           absl::string_view what) {
  const absl::Status not_a_number = absl::InvalidArgumentError(
      absl::StrCat(what, " '", text, "' is not a number like 12 or 12.5"));
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('.', 1));
  const absl::string_view fraction = parts.size() == 2 ? parts[1] : absl::string_view();
  if (!IsDigits(parts[0]) || (parts.size() == 2 && !IsDigits(fraction))) return not_a_number;
  if (static_cast<int>(fraction.size()) > decimals) {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", text, "' has ", fraction.size(),
                                                   " decimals; at most ", decimals,
                                                   " are allowed"));
  }
  // Accumulate the digits of the whole part and the padded fraction as one integer, stopping as
  // soon as it passes the maximum so that no digit string can overflow.
  const absl::Status too_large =
      absl::InvalidArgumentError(absl::StrCat(what, " '", text, "' is too large"));
  int64_t scaled = 0;
  auto append = [&](char digit) -> bool {
    scaled = scaled * 10 + (digit - '0');
    return scaled <= max_scaled;
  };
  for (char c : parts[0]) {
    if (!append(c)) return too_large;
  }
  for (int i = 0; i < decimals; ++i) {
    if (!append(i < static_cast<int>(fraction.size()) ? fraction[i] : '0')) return too_large;
  }
  return scaled;
}

absl::StatusOr<int64_t> ParseAmount(absl::string_view text, const Currency& currency) {
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount '", text, "' must be a positive number without a sign"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::MaxSplits('.', 1));
  ASSIGN_OR_RETURN(std::string whole, StripGroupSeparators(parts[0], text));
  const bool has_fraction = parts.size() == 2;
  const absl::string_view fraction = has_fraction ? parts[1] : absl::string_view();
  if (!IsDigits(whole) || (has_fraction && !IsDigits(fraction))) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount '", text, "' is not a number like 100 or 100.50 (in major units of ",
                     currency.code, ")"));
  }
  // Say it in the currency's terms: "USD has 2 decimals" helps more than a generic limit.
  if (static_cast<int>(fraction.size()) > currency.decimals) {
    if (currency.decimals == 0) {
      return absl::InvalidArgumentError(absl::StrCat("amount '", text, "': ", currency.code,
                                                     " has no minor unit, so give a whole number"));
    }
    return absl::InvalidArgumentError(absl::StrCat("amount '", text, "' has ", fraction.size(),
                                                   " decimals, but ", currency.code, " has only ",
                                                   currency.decimals));
  }
  // The digits are valid now, so the only way left to fail is size.
  absl::StatusOr<int64_t> minor =
      ParseScaledDecimal(has_fraction ? absl::StrCat(whole, ".", fraction) : whole,
                         currency.decimals, limits::kAmountMinorMax, "amount");
  if (!minor.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount '", text, " ", currency.code, "' exceeds the maximum of ",
                     FormatMoney(limits::kAmountMinorMax, currency), " per request"));
  }
  if (*minor == 0) {
    return absl::InvalidArgumentError(absl::StrCat("amount '", text, "' must be greater than 0"));
  }
  return *minor;
}

std::string FormatAmount(int64_t amount_minor, absl::string_view currency) {
  absl::StatusOr<Currency> known = LookupCurrency(currency);
  if (known.ok()) return FormatMoney(amount_minor, *known);
  return absl::StrCat(amount_minor, " ", currency, " (minor units)");
}

}  // namespace fxmesh::cli
