// Fuzzes the money rules (common/money.h): addition never overflows silently (it matches 128-bit
// arithmetic or says it cannot), an amount is accepted exactly when 0 < amount <=
// limits::kAmountMinorMax, FormatMoney's text reads back as the same amount, and a currency list
// either parses into distinct, well-formed currencies or is refused with INVALID_ARGUMENT.
//
// Input: lines of commands, "add" <a> <b>, "format" <amount> <decimals>, "amount" <n>,
// "currencies" <spec> (C escapes allowed), one value per line.
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/limits.h"
#include "common/money.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {
namespace {

void CheckAdd(int64_t a, int64_t b) {
  const __int128 exact = static_cast<__int128>(a) + b;
  const std::optional<int64_t> sum = CheckedAdd(a, b);
  const bool fits = exact >= INT64_MIN && exact <= INT64_MAX;
  FUZZ_CHECK(sum.has_value() == fits, absl::StrCat(a, " + ", b));
  if (sum) FUZZ_CHECK(*sum == exact, absl::StrCat(a, " + ", b, " gave ", *sum));
}

void CheckAmount(int64_t amount) {
  const absl::Status status = ValidateAmountMinor(amount, "amount");
  FUZZ_CHECK(status.ok() == (amount > 0 && amount <= limits::kAmountMinorMax),
             absl::StrCat(amount, ": ", status.ToString()));
  if (!status.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(status), status.ToString());
    FUZZ_CHECK(absl::StrContains(status.message(), absl::StrCat(amount)), status.ToString());
  }
}

// "-1,234.56 USD" read back: the sign, the digits without separators, the code.
void CheckFormat(int64_t amount, int decimals) {
  const Currency currency{"USD", decimals};
  const std::string text = FormatMoney(amount, currency);
  FUZZ_CHECK(absl::EndsWith(text, " USD"), text);
  absl::string_view number(text);
  number.remove_suffix(4);
  const bool negative = absl::ConsumePrefix(&number, "-");
  FUZZ_CHECK(negative == (amount < 0), text);
  // Groups of three, separated by commas, then the fraction with exactly `decimals` digits.
  const size_t point = number.find('.');
  FUZZ_CHECK((point == absl::string_view::npos) == (decimals == 0), text);
  const absl::string_view whole = number.substr(0, point);
  if (decimals > 0) FUZZ_CHECK(number.size() - point - 1 == static_cast<size_t>(decimals), text);
  for (size_t i = 0; i < whole.size(); ++i) {
    const bool comma_here = i > 0 && (whole.size() - i) % 4 == 0;
    FUZZ_CHECK(comma_here ? whole[i] == ',' : (whole[i] >= '0' && whole[i] <= '9'), text);
  }
  const std::string digits = absl::StrReplaceAll(number, {{",", ""}, {".", ""}});
  // At most 19 digits: the magnitude of any int64, which fits an __int128 with room to spare.
  FUZZ_CHECK(!digits.empty() && digits.size() <= 19, text);
  __int128 magnitude = 0;
  for (char c : digits) magnitude = magnitude * 10 + (c - '0');
  const __int128 exact = amount;
  FUZZ_CHECK(magnitude == (exact < 0 ? -exact : exact), text);
}

void CheckCurrencies(const std::string& spec) {
  const absl::StatusOr<std::vector<Currency>> list = ParseCurrencyList(spec);
  if (!list.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(list.status()), list.status().ToString());
    FUZZ_CHECK(!list.status().message().empty(), spec);
    return;
  }
  FUZZ_CHECK(!list->empty(), spec);
  std::set<std::string> codes;
  for (const Currency& currency : *list) {
    FUZZ_CHECK(currency.code.size() == 3, spec);
    for (char c : currency.code) FUZZ_CHECK(c >= 'A' && c <= 'Z', spec);
    FUZZ_CHECK(currency.decimals >= 0 && currency.decimals <= 4, spec);
    FUZZ_CHECK(codes.insert(currency.code).second, absl::StrCat(currency.code, " twice: ", spec));
    // A known code keeps its table decimals unless the entry declares its own.
    const absl::StatusOr<Currency> known = LookupCurrency(currency.code);
    if (known.ok() && !absl::StrContains(spec, absl::StrCat(currency.code, ":"))) {
      FUZZ_CHECK(known->decimals == currency.decimals, spec);
    }
    // Every amount of a listed currency can be formatted.
    CheckFormat(limits::kAmountMinorMax, currency.decimals);
  }
}

}  // namespace

void FuzzOne(const uint8_t* data, size_t size) {
  Lines lines(data, size);
  while (!lines.done()) {
    const absl::string_view command = lines.Raw();
    if (command == "add") {
      const int64_t a = lines.Int();
      CheckAdd(a, lines.Int());
    } else if (command == "format") {
      const int64_t amount = lines.Int();
      // Currencies have 0 to 4 decimals (ParseCurrencyList's bound).
      CheckFormat(amount, static_cast<int>(lines.Int() & 0x7) % 5);
    } else if (command == "amount") {
      CheckAmount(lines.Int());
    } else if (command == "currencies") {
      CheckCurrencies(lines.Text());
    }
  }
}

}  // namespace fxmesh::fuzz
