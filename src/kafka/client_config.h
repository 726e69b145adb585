// How a Kafka client of fxmesh reaches the cluster: the bootstrap servers, and librdkafka
// properties an operator passes through (TLS, SASL, client.id, timeouts), read from a properties
// file (--kafka_config) and from FXMESH_KAFKA_<PROPERTY> environment variables. Property values
// may be secrets (sasl.password, ssl.key.password): fxmesh never logs them, and quotes no value of
// such a property in an error.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace fxmesh::kafka {

// librdkafka properties, name and value, in the order they are applied (a later one wins).
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

struct ClientConfig {
  ClientConfig() = default;
  // Implicit: bootstrap servers alone are a whole configuration (the embedded Kafka, tests).
  ClientConfig(std::string bootstrap_servers_in)  // NOLINT(google-explicit-constructor)
      : bootstrap_servers(std::move(bootstrap_servers_in)) {}
  ClientConfig(const char* bootstrap_servers_in)  // NOLINT(google-explicit-constructor)
      : bootstrap_servers(bootstrap_servers_in) {}

  // As in librdkafka's bootstrap.servers.
  std::string bootstrap_servers;
  // Applied after fxmesh's own settings for the client, so they may override its defaults
  // (client.id, linger.ms), except those its guarantees rest on (see ApplyClientConfig).
  KafkaProperties properties;
};

// Parses a properties file's text: one `name=value` a line; blank lines and lines starting with
// '#' or '!' are skipped; spaces around the name and the value are trimmed. `source` names the
// file in errors, which say which line is wrong.
absl::StatusOr<KafkaProperties> ParseKafkaProperties(absl::string_view text,
                                                     absl::string_view source);

// The properties set by FXMESH_KAFKA_<PROPERTY> variables of `environment` (as `environ`): the
// rest of the name in lower case with '_' as '.', so FXMESH_KAFKA_SASL_PASSWORD is sasl.password.
// FXMESH_KAFKA_BROKERS and FXMESH_KAFKA_CONFIG are fxmesh's own flags, not properties.
KafkaProperties KafkaPropertiesFromEnvironment(char** environment);

// The properties of `file` (none when empty), then those of the environment, which win.
absl::StatusOr<KafkaProperties> LoadKafkaProperties(const std::string& file, char** environment);

// Sets `config` on `conf`: bootstrap.servers, then `own` (fxmesh's settings for this client),
// then the pass-through properties. INVALID_ARGUMENT, with librdkafka's message, for an unknown
// property or a bad value; and for a property fxmesh owns (bootstrap.servers and group.id have
// flags; idempotence, acks and offset commits are what its delivery guarantees rest on).
absl::Status ApplyClientConfig(rd_kafka_conf_t* conf, const ClientConfig& config,
                               const KafkaProperties& own);

}  // namespace fxmesh::kafka
