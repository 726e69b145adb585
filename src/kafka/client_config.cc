#include "kafka/client_config.h"

#include <librdkafka/rdkafka.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fxmesh::kafka {
namespace {

constexpr absl::string_view kEnvironmentPrefix = "FXMESH_KAFKA_";

// Properties whose change would break what fxmesh promises: where the cluster is and which group
// a relay joins have their own flags; the producer's idempotence and acks and the consumer's
// manual offset commits make delivery at-least-once without duplicates from the producer itself.
constexpr absl::string_view kOwnedProperties[] = {
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
};

// A property whose value may be a secret: its value is never quoted back.
bool IsSecret(absl::string_view name) {
  return absl::StrContains(name, "password") || absl::StrContains(name, "secret") ||
         absl::StrContains(name, "jaas") || absl::StrContains(name, "oauthbearer.config") ||
         absl::EndsWith(name, ".pem");
}

absl::Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char error[512] = {};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) ==
      RD_KAFKA_CONF_OK) {
    return absl::OkStatus();
  }
  std::string message = error;
  if (IsSecret(name) && !value.empty()) message = absl::StrReplaceAll(message, {{value, "***"}});
  return absl::InvalidArgumentError(absl::StrCat("kafka property ", name, ": ", message));
}

}  // namespace

absl::StatusOr<KafkaProperties> ParseKafkaProperties(absl::string_view text,
                                                     absl::string_view source) {
  KafkaProperties properties;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, " line ", line_number, ": expected name=value (a librdkafka property)"));
    }
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, equals));
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, " line ", line_number, ": the property has no name"));
    }
    properties.emplace_back(std::string(name),
                            std::string(absl::StripAsciiWhitespace(line.substr(equals + 1))));
  }
  return properties;
}

KafkaProperties KafkaPropertiesFromEnvironment(char** environment) {
  KafkaProperties properties;
  for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view variable = *entry;
    if (!absl::ConsumePrefix(&variable, kEnvironmentPrefix)) continue;
    const size_t equals = variable.find('=');
    if (equals == absl::string_view::npos) continue;
    const absl::string_view key = variable.substr(0, equals);
    if (key == "BROKERS" || key == "CONFIG") continue;  // --kafka_brokers, --kafka_config.
    properties.emplace_back(absl::StrReplaceAll(absl::AsciiStrToLower(key), {{"_", "."}}),
                            std::string(variable.substr(equals + 1)));
  }
  return properties;
}

absl::StatusOr<KafkaProperties> LoadKafkaProperties(const std::string& file, char** environment) {
  KafkaProperties properties;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read the Kafka config ", file));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<KafkaProperties> parsed = ParseKafkaProperties(text.str(), file);
    if (!parsed.ok()) return parsed.status();
    properties = std::move(*parsed);
  }
  for (auto& property : KafkaPropertiesFromEnvironment(environment)) {
    properties.push_back(std::move(property));
  }
  return properties;
}

absl::Status ApplyClientConfig(rd_kafka_conf_t* conf, const ClientConfig& config,
                               const KafkaProperties& own) {
  if (absl::Status set = SetProperty(conf, "bootstrap.servers", config.bootstrap_servers);
      !set.ok()) {
    return set;
  }
  for (const auto& [name, value] : own) {
    if (absl::Status set = SetProperty(conf, name, value); !set.ok()) return set;
  }
  for (const auto& [name, value] : config.properties) {
    for (absl::string_view owned : kOwnedProperties) {
      if (name == owned) {
        return absl::InvalidArgumentError(absl::StrCat(
            "kafka property ", name,
            " is set by fxmesh itself (its flags or its delivery guarantees); remove it"));
      }
    }
    if (absl::Status set = SetProperty(conf, name, value); !set.ok()) return set;
  }
  return absl::OkStatus();
}

}  // namespace fxmesh::kafka
