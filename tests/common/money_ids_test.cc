// Proves the money and identifier rules every service relies on: currency tables and lists,
// amount bounds, overflow-checked addition, human formatting, and the id validators' messages.
#include <catch2/catch.hpp>
#include <set>

#include "common/db.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/money.h"

namespace fxmesh {
namespace {

TEST_CASE("currencies come from the ISO table or are declared with decimals", "[unit]") {
  CHECK(LookupCurrency("KRW")->decimals == 0);
  CHECK(LookupCurrency("USD")->decimals == 2);
  CHECK(absl::IsNotFound(LookupCurrency("ZZZ").status()));

  absl::StatusOr<std::vector<Currency>> list = ParseCurrencyList("USD, EUR,JPY,XAU:3");
  REQUIRE(list.ok());
  REQUIRE(list->size() == 4);
  CHECK((*list)[2].code == "JPY");
  CHECK((*list)[2].decimals == 0);
  CHECK((*list)[3].decimals == 3);

  CHECK_THAT(std::string(ParseCurrencyList("usd").status().message()), Catch::Contains("ISO 4217"));
  CHECK_THAT(std::string(ParseCurrencyList("ABC").status().message()), Catch::Contains("ABC:2"));
  CHECK_THAT(std::string(ParseCurrencyList("USD,USD").status().message()),
             Catch::Contains("twice"));
  CHECK_THAT(std::string(ParseCurrencyList("XAU:9").status().message()), Catch::Contains("0 to 4"));
  CHECK(absl::IsInvalidArgument(ParseCurrencyList("").status()));
}

TEST_CASE("amounts are positive, bounded, and added without overflow", "[unit]") {
  CHECK(ValidateAmountMinor(1, "amount").ok());
  CHECK(ValidateAmountMinor(limits::kAmountMinorMax, "amount").ok());
  CHECK(absl::IsInvalidArgument(ValidateAmountMinor(0, "amount")));
  CHECK(absl::IsInvalidArgument(ValidateAmountMinor(-1, "amount")));
  CHECK(absl::IsInvalidArgument(ValidateAmountMinor(limits::kAmountMinorMax + 1, "amount")));
  CHECK(CheckedAdd(INT64_MAX - 1, 1) == INT64_MAX);
  CHECK_FALSE(CheckedAdd(INT64_MAX, 1).has_value());
  CHECK_FALSE(CheckedAdd(INT64_MIN, -1).has_value());
}

TEST_CASE("money formats for humans in its currency's units", "[unit]") {
  CHECK(FormatMoney(123456, {"USD", 2}) == "1,234.56 USD");
  CHECK(FormatMoney(5, {"USD", 2}) == "0.05 USD");
  CHECK(FormatMoney(-1000000, {"KRW", 0}) == "-1,000,000 KRW");
  CHECK(FormatMoney(INT64_MIN, {"KRW", 0}) == "-9,223,372,036,854,775,808 KRW");
  CHECK(FormatMoney(1, {"KWD", 3}) == "0.001 KWD");
}

TEST_CASE("identifiers are validated with messages that say what is allowed", "[unit]") {
  CHECK(ValidateSagaId("0123456789abcdef0123456789abcdef").ok());
  CHECK_THAT(std::string(ValidateSagaId("xyz").message()), Catch::Contains("32 lowercase hex"));
  CHECK(ValidateBranchName("krw").ok());
  CHECK(absl::IsInvalidArgument(ValidateBranchName("KRW")));
  CHECK(absl::IsInvalidArgument(ValidateBranchName("1x")));
  CHECK(ValidateKey("alice-krw.main:1_a", "account_id", 64).ok());
  CHECK_THAT(std::string(ValidateKey(std::string(200, 'a'), "account_id", 64).message()),
             Catch::Contains("200 characters long"));
  // Non-printable input is escaped and truncated in messages, never echoed raw.
  const std::string message(ValidateKey(std::string("a\nb\x01", 4), "owner", 64).message());
  CHECK_THAT(message, Catch::Contains("\\n"));
  CHECK(message.find('\n') == std::string::npos);

  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewSagaId();
    CHECK(ValidateSagaId(id).ok());
    ids.insert(id);
  }
  CHECK(ids.size() == 1000);
}

TEST_CASE("database urls are parsed and never leak passwords", "[unit]") {
  CHECK(*PostgresConninfo("postgresql://app:s3cr3t@db.internal:5433/ledger?sslmode=require") ==
        "user='app' password='s3cr3t' host='db.internal' port='5433' dbname='ledger' "
        "sslmode='require'");
  CHECK(*PostgresConninfo("postgres://localhost/x") == "host='localhost' dbname='x'");
  CHECK(*PostgresConninfo("postgresql://o'brien@h/d") == "user='o\\'brien' host='h' dbname='d'");
  CHECK(absl::IsInvalidArgument(PostgresConninfo("postgresql://h:notaport/d").status()));
  CHECK(*PostgresConninfo("postgresql://app:p%40ss%2Fw@h/d") ==
        "user='app' password='p@ss/w' host='h' dbname='d'");
  CHECK(absl::IsInvalidArgument(PostgresConninfo("postgresql://app:bad%zz@h/d").status()));
  CHECK(RedactDatabaseUrl("postgresql://app:s3cr3t@db:5432/ledger") ==
        "postgresql://app:***@db:5432/ledger");
  CHECK(RedactDatabaseUrl("postgresql://app@db/ledger?sslmode=require&password=s3cr3t&x=1") ==
        "postgresql://app@db/ledger?sslmode=require&password=***&x=1");
  CHECK(DatabaseUrlHasPassword("postgresql://app:s3cr3t@db:5432/ledger"));
  CHECK(DatabaseUrlHasPassword("postgres://app@db/ledger?password=s3cr3t"));
  CHECK(DatabaseUrlHasPassword("postgres://app@db/ledger?sslmode=require&password=s3cr3t"));
  CHECK_FALSE(DatabaseUrlHasPassword("postgresql://app@db:5432/ledger?sslmode=require"));
  CHECK_FALSE(DatabaseUrlHasPassword("postgresql://db:5432/ledger"));
  CHECK_FALSE(DatabaseUrlHasPassword("sqlite:/var/lib/fxmesh/x.db"));
  CHECK(absl::IsInvalidArgument(
      Database::Open({.url = "sqlite:/nonexistent/x.db", .password = "s3cr3t"}).status()));
  absl::StatusOr<std::unique_ptr<Database>> bad = Database::Open({.url = "mysql://x"});
  CHECK(absl::IsInvalidArgument(bad.status()));
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("sqlite: or postgresql://"));
}

}  // namespace
}  // namespace fxmesh
