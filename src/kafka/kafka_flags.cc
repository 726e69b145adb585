#include "kafka/kafka_flags.h"

#include <string>

#include "absl/flags/flag.h"

extern char** environ;

ABSL_FLAG(std::string, kafka_config, "",
          "librdkafka properties file for the Kafka clients (name=value lines: "
          "security.protocol, ssl.ca.location, sasl.mechanisms, sasl.username, ...); "
          "FXMESH_KAFKA_<PROPERTY> variables add to it, e.g. FXMESH_KAFKA_SASL_PASSWORD");

namespace fxmesh::kafka {

absl::StatusOr<KafkaProperties> KafkaPropertiesFromFlags(absl::string_view bootstrap_servers) {
  absl::StatusOr<KafkaProperties> properties =
      LoadKafkaProperties(absl::GetFlag(FLAGS_kafka_config), environ);
  if (properties.ok() && !properties->empty() && bootstrap_servers.empty()) {
    return absl::InvalidArgumentError(
        "Kafka client properties are given (--kafka_config or FXMESH_KAFKA_*), but no "
        "--kafka_brokers to use them with");
  }
  return properties;
}

}  // namespace fxmesh::kafka
