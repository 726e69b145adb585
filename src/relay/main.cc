// fxmesh-relay: executes branch commands from Kafka against the ledgers (see relay.h). Several
// relays with the same --group share the partitions; a killed relay's partitions move to the
// others, which repeat at most the commands it had not committed (harmless: ledger calls are
// idempotent).
#include <atomic>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/grpc_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/metrics_http_server.h"
#include "common/otlp_exporter.h"
#include "common/service_main.h"
#include "common/status_macros.h"
#include "common/tls_flags.h"
#include "kafka/kafka_flags.h"
#include "kafka/lag.h"
#include "relay/relay.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50081", "host:port of the health and reflection service");
ABSL_FLAG(std::string, kafka_brokers, "", "Kafka bootstrap servers (required)");
ABSL_FLAG(std::string, group, "fxmesh-relay", "consumer group shared by the relay replicas");
ABSL_FLAG(std::string, krw_ledger, "127.0.0.1:50061", "host:port of fxmesh-krw-ledger");
ABSL_FLAG(std::string, fx_ledger, "127.0.0.1:50062", "host:port of fxmesh-fx-ledger");
ABSL_FLAG(
    std::string, tier_delays_ms, "",
    "delays of the retry tiers, in order, comma-separated (default 5000,30000,120000,600000)");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, otlp_endpoint, "",
          "OpenTelemetry collector to export spans to, http://host:port (OTLP/HTTP JSON)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port for Prometheus metrics over HTTP (GET /metrics); empty: no endpoint");

namespace fxmesh::relay {
namespace {

absl::StatusOr<RelayOptions> OptionsFromFlags() {
  RelayOptions options;
  options.tiers = DefaultTiers();
  const std::string delays = absl::GetFlag(FLAGS_tier_delays_ms);
  if (!delays.empty()) {
    std::vector<std::string> parts = absl::StrSplit(delays, ',');
    if (parts.size() > options.tiers.size()) {
      return absl::InvalidArgumentError(absl::StrCat("--tier_delays_ms gives ", parts.size(),
                                                     " tiers; there are ", options.tiers.size()));
    }
    options.tiers.resize(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
      int64_t delay_ms = 0;
      if (!absl::SimpleAtoi(parts[i], &delay_ms) || delay_ms < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--tier_delays_ms: '", parts[i], "' is not a delay in ms"));
      }
      options.tiers[i].delay = absl::Milliseconds(delay_ms);
    }
  }
  return options;
}

int Main(int argc, char** argv) {
  BlockTerminationSignals();
  SetLogService("relay");
  absl::SetProgramUsageMessage(
      "fxmesh relay: executes branch commands from Kafka against the ledgers.\n"
      "  Every flag can also be set as FXMESH_<FLAG> in the environment.");
  if (absl::Status env = ApplyEnvironmentToFlags({"listen", "kafka_brokers", "group", "krw_ledger",
                                                  "fx_ledger", "tier_delays_ms", "log_level",
                                                  "metrics_listen", "otlp_endpoint"});
      !env.ok() || !(env = ApplyEnvironmentToFlags(kTlsFlagNames)).ok() ||
      !(env = ApplyEnvironmentToFlags(kafka::kKafkaFlagNames)).ok()) {
    LogError("bad environment").With("error", env);
    return 2;
  }
  AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  LogLevel level;
  absl::StatusOr<RelayOptions> options = OptionsFromFlags();
  absl::Status config = ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level);
  if (config.ok() && !options.ok()) config = options.status();
  const TlsOptions tls = TlsOptionsFromFlags();
  if (config.ok()) config = CheckTlsOptions(tls);
  if (config.ok() && absl::GetFlag(FLAGS_kafka_brokers).empty()) {
    config = absl::InvalidArgumentError("--kafka_brokers is required");
  }
  kafka::ClientConfig kafka_config(absl::GetFlag(FLAGS_kafka_brokers));
  if (config.ok()) {
    absl::StatusOr<kafka::KafkaProperties> properties =
        kafka::KafkaPropertiesFromFlags(kafka_config.bootstrap_servers);
    if (properties.ok()) kafka_config.properties = std::move(*properties);
    config = properties.status();
  }
  if (!config.ok()) {
    LogError("bad configuration").With("error", config);
    return 2;
  }
  SetLogLevel(level);
  auto producer = kafka::KafkaProducer::Create(kafka_config, "fxmesh-relay",
                                               absl::Milliseconds(limits::kOutboxDeliveryTimeoutMs),
                                               absl::Milliseconds(limits::kRelayProducerLingerMs));
  auto consumer = kafka::KafkaConsumer::Create(kafka_config, absl::GetFlag(FLAGS_group),
                                               ConsumedTopics(*options));
  if (!producer.ok() || !consumer.ok()) {
    const absl::Status error = producer.ok() ? consumer.status() : producer.status();
    LogError("cannot connect to Kafka").With("error", error);
    // A property librdkafka refuses is a configuration error, like a bad flag.
    return absl::IsInvalidArgument(error) ? 2 : 1;
  }
  Tracer tracer("relay", limits::kSpansKeptMax);
  absl::StatusOr<std::unique_ptr<OtlpExporter>> exporter =
      ExportSpans(absl::GetFlag(FLAGS_otlp_endpoint), tracer);
  if (!exporter.ok()) {
    LogError("bad configuration").With("error", exporter.status());
    return 2;
  }
  std::unique_ptr<ParticipantClient> krw = NewGrpcParticipantClient(
      NewLedgerChannel(absl::GetFlag(FLAGS_krw_ledger), tls), &tracer, "krw-ledger");
  std::unique_ptr<ParticipantClient> fx = NewGrpcParticipantClient(
      NewLedgerChannel(absl::GetFlag(FLAGS_fx_ledger), tls), &tracer, "fx-ledger");
  MetricsRegistry metrics;
  Relay relay(**consumer, **producer, {{"krw-ledger", krw.get()}, {"fx-ledger", fx.get()}},
              SystemClock::Get(), *options, metrics, &tracer);
  const std::string group = absl::GetFlag(FLAGS_group);
  const std::vector<std::string> topics = ConsumedTopics(*options);
  metrics.AddGaugeCallback(
      "fxmesh_consumer_lag",
      "Branch commands (with their retry tiers) not yet handled by the relays.", {"group"},
      [kafka_config, group, topics](GaugeSink& sink) -> absl::Status {
        ASSIGN_OR_RETURN(int64_t lag,
                         kafka::ConsumerGroupLag(kafka_config, group, topics,
                                                 absl::Milliseconds(limits::kLagQueryTimeoutMs)));
        sink.Set({group}, static_cast<double>(lag));
        return absl::OkStatus();
      });
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(absl::GetFlag(FLAGS_listen), {}, &metrics, &tracer, tls);
  if (!server.ok()) {
    LogError("cannot start").With("error", server.status());
    return 1;
  }
  std::unique_ptr<MetricsHttpServer> metrics_server;
  if (!absl::GetFlag(FLAGS_metrics_listen).empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> started =
        MetricsHttpServer::Start(absl::GetFlag(FLAGS_metrics_listen), metrics,
                                 [grpc = server->get()] { return grpc->readiness(); });
    if (!started.ok()) {
      LogError("cannot start the metrics endpoint").With("error", started.status());
      return 1;
    }
    metrics_server = std::move(*started);
  }
  (*server)->SetServing(true);
  std::atomic<bool> stopping{false};
  std::thread worker([&] {
    while (!stopping) {
      absl::StatusOr<int> stepped = relay.Step(absl::Milliseconds(limits::kRelayIdlePollMs));
      if (!stepped.ok()) LogWarning("relay step failed").With("error", stepped.status());
    }
  });
  LogInfo("serving")
      .With("port", (*server)->port())
      .With("metrics_port", metrics_server ? metrics_server->port() : 0)
      .With("kafka_brokers", absl::GetFlag(FLAGS_kafka_brokers))
      .With("kafka_client", (*producer)->Name())
      .With("group", absl::GetFlag(FLAGS_group));
  absl::string_view signal = WaitForTerminationSignal();
  LogInfo("shutting down").With("signal", signal);
  stopping = true;
  worker.join();
  metrics_server.reset();
  (*server)->Shutdown(absl::Milliseconds(limits::kShutdownGraceMs));
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace fxmesh::relay

int main(int argc, char** argv) { return fxmesh::relay::Main(argc, argv); }
