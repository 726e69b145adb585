// The Kafka client flag of the services that talk to Kafka (the coordinator and the relay), beside
// their own --kafka_brokers: --kafka_config (or FXMESH_KAFKA_CONFIG), a librdkafka properties
// file, and FXMESH_KAFKA_<PROPERTY> environment variables (see client_config.h).
#pragma once

#include <initializer_list>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kafka/client_config.h"

namespace fxmesh::kafka {

// The flags' names, for ApplyEnvironmentToFlags.
inline constexpr std::initializer_list<absl::string_view> kKafkaFlagNames = {"kafka_config"};

// The properties of --kafka_config and of this process's environment (after
// absl::ParseCommandLine). INVALID_ARGUMENT when the file cannot be read or parsed, or when there
// are properties but no `bootstrap_servers` to use them with.
absl::StatusOr<KafkaProperties> KafkaPropertiesFromFlags(absl::string_view bootstrap_servers);

}  // namespace fxmesh::kafka
