#include "tests/security/hostile_input.h"

#include <soci/soci.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fxmesh::testing {

std::string Huge(char fill, size_t bytes) { return std::string(bytes, fill); }

void HostileTables::CheckCovers(const std::string& service) const {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  REQUIRE(descriptor != nullptr);
  std::vector<std::string> missing;
  for (int i = 0; i < descriptor->method_count(); ++i) {
    const std::string method = absl::StrCat(service, "/", descriptor->method(i)->name());
    if (covered_.count(method) == 0) missing.push_back(method);
  }
  INFO("RPCs without hostile-input rows: " << absl::StrJoin(missing, ", "));
  CHECK(missing.empty());
}

std::string HostileTables::CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  if (index < 0 || index >= static_cast<int>(std::size(kNames))) return absl::StrCat(index);
  return kNames[index];
}

void HostileTables::CheckCleanMessage(const std::string& message, const std::string& expected) {
  // A refusal says what is wrong, briefly: it never echoes a megabyte of input, nor the control
  // characters a hostile client sent (they would reach logs and terminals).
  CHECK(!message.empty());
  CHECK(message.size() <= 1'024);
  bool printable = true;
  for (char c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) printable = false;
  }
  CHECK(printable);
  CHECK_THAT(message, Catch::Contains(expected));
}

std::string DumpTables(const std::string& url, const std::vector<std::string>& tables) {
  absl::StatusOr<std::unique_ptr<Database>> database =
      Database::Open(DatabaseOptions{.url = url, .pool_size = 1});
  REQUIRE(database.ok());
  std::string out;
  const absl::Status read = (*database)->Read([&](soci::session& sql) -> absl::Status {
    for (const std::string& table : tables) {
      absl::StrAppend(&out, "== ", table, "\n");
      soci::rowset<soci::row> rows = (sql.prepare << "SELECT * FROM " << table << " ORDER BY 1");
      for (const soci::row& row : rows) {
        for (size_t i = 0; i < row.size(); ++i) {
          if (row.get_indicator(i) == soci::i_null) {
            out += "NULL";
          } else {
            switch (row.get_properties(i).get_data_type()) {
              case soci::dt_string:
                out += row.get<std::string>(i);
                break;
              case soci::dt_integer:
                absl::StrAppend(&out, row.get<int>(i));
                break;
              case soci::dt_long_long:
                absl::StrAppend(&out, row.get<long long>(i));
                break;
              case soci::dt_unsigned_long_long:
                absl::StrAppend(&out, row.get<unsigned long long>(i));
                break;
              case soci::dt_double:
                absl::StrAppend(&out, row.get<double>(i));
                break;
              default:
                out += "?";
            }
          }
          out += "|";
        }
        out += "\n";
      }
    }
    return absl::OkStatus();
  });
  REQUIRE(read.ok());
  return out;
}

}  // namespace fxmesh::testing
