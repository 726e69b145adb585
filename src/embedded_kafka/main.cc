// fxmesh-kafka: an embedded Kafka for development and tests (librdkafka's mock cluster on
// loopback), with the fxmesh topics created and a gRPC control service for fault injection. It
// logs the bootstrap address and can write it to a file for other processes to read. The brokers'
// ports are new on every start; --bootstrap_port gives a bootstrap address that is not.
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/service_main.h"
#include "common/tls_flags.h"
#include "embedded_kafka/embedded_kafka.h"
#include "embedded_kafka/kafka_control_service.h"
#include "kafka/topics.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50071", "host:port of the control gRPC service");
ABSL_FLAG(int, brokers, 3, "number of brokers");
ABSL_FLAG(int, partitions, 6, "partitions per topic");
ABSL_FLAG(int, bootstrap_port, 0,
          "if set, 127.0.0.1:PORT forwards to the brokers and is the bootstrap address, the same "
          "across restarts (the brokers' own ports change)");
ABSL_FLAG(std::string, bootstrap_file, "", "if set, the bootstrap address is written to this file");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");

int main(int argc, char** argv) {
  using namespace fxmesh;
  BlockTerminationSignals();
  SetLogService("kafka");
  absl::SetProgramUsageMessage(
      "fxmesh-kafka: an embedded Kafka (librdkafka mock cluster) for development and tests.");
  if (absl::Status env = ApplyEnvironmentToFlags(
          {"listen", "brokers", "partitions", "bootstrap_port", "bootstrap_file", "log_level"});
      !env.ok() || !(env = ApplyEnvironmentToFlags(kTlsFlagNames)).ok()) {
    LogError("bad environment").With("error", env);
    return 2;
  }
  AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  LogLevel level;
  if (absl::Status parsed = ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level); !parsed.ok()) {
    LogError("bad configuration").With("error", parsed);
    return 2;
  }
  SetLogLevel(level);
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedKafka>> cluster = kafka::EmbeddedKafka::Start(
      absl::GetFlag(FLAGS_brokers), absl::GetFlag(FLAGS_partitions), kafka::AllTopics());
  if (!cluster.ok()) {
    LogError("cannot start").With("error", cluster.status());
    return absl::IsInvalidArgument(cluster.status()) ? 2 : 1;
  }
  std::string bootstrap = (*cluster)->bootstrap_servers();
  if (const int port = absl::GetFlag(FLAGS_bootstrap_port); port != 0) {
    if (absl::Status forwarding = (*cluster)->ForwardBootstrapFrom(port); !forwarding.ok()) {
      LogError("cannot start").With("error", forwarding);
      return absl::IsInvalidArgument(forwarding) ? 2 : 1;
    }
    bootstrap = absl::StrCat("127.0.0.1:", port);
  }
  if (const std::string file = absl::GetFlag(FLAGS_bootstrap_file); !file.empty()) {
    std::ofstream out(file, std::ios::trunc);
    out << bootstrap << "\n";
    if (!out) {
      LogError("cannot write the bootstrap file").With("file", file);
      return 1;
    }
  }
  kafka::KafkaControlService control(**cluster);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(
      absl::GetFlag(FLAGS_listen), {&control}, nullptr, nullptr, TlsOptionsFromFlags());
  if (!server.ok()) {
    LogError("cannot start").With("error", server.status());
    return 1;
  }
  (*server)->SetServing(true);
  LogInfo("serving")
      .With("bootstrap_servers", bootstrap)
      .With("broker_addresses", (*cluster)->bootstrap_servers())
      .With("brokers", absl::GetFlag(FLAGS_brokers))
      .With("partitions", absl::GetFlag(FLAGS_partitions))
      .With("port", (*server)->port());
  absl::string_view signal = WaitForTerminationSignal();
  LogInfo("shutting down").With("signal", signal);
  (*server)->Shutdown(absl::Milliseconds(limits::kShutdownGraceMs));
  LogInfo("stopped");
  return 0;
}
