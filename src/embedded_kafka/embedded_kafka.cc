#include "embedded_kafka/embedded_kafka.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/limits.h"
#include "kafka/topics.h"

namespace fxmesh::kafka {
namespace internal {

// Relays each connection accepted on a fixed loopback port to a broker. One thread accepts; each
// connection has a thread that copies bytes both ways until either side closes.
class BootstrapForwarder {
 public:
  static absl::StatusOr<std::unique_ptr<BootstrapForwarder>> Start(int port,
                                                                   std::vector<int> broker_ports) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError("socket() failed");
    // A restarted Kafka takes its port back at once, though the last run's sockets linger.
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(fd, limits::kEmbeddedKafkaBootstrapBacklog) != 0) {
      const int error = errno;
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot listen on 127.0.0.1:", port, " for the bootstrap address: ", strerror(error)));
    }
    std::unique_ptr<BootstrapForwarder> forwarder(new BootstrapForwarder(fd, broker_ports));
    forwarder->acceptor_ = std::thread([raw = forwarder.get()] { raw->AcceptLoop(); });
    return forwarder;
  }

  ~BootstrapForwarder() {
    stop_ = true;
    acceptor_.join();
    for (Connection& connection : connections_) connection.thread.join();
    close(listen_fd_);
  }

 private:
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  BootstrapForwarder(int listen_fd, std::vector<int> broker_ports)
      : listen_fd_(listen_fd), broker_ports_(std::move(broker_ports)) {}

  // A connected socket to the first broker that accepts, or -1.
  int ConnectToBroker() const {
    for (int port : broker_ports_) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return -1;
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<uint16_t>(port));
      if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) return fd;
      close(fd);
    }
    return -1;
  }

  void AcceptLoop() {
    while (!stop_) {
      pollfd ready{listen_fd_, POLLIN, 0};
      if (poll(&ready, 1, limits::kEmbeddedKafkaBootstrapPollMs) <= 0) continue;
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      // Finished connections are joined here, so the list holds only live ones.
      for (auto it = connections_.begin(); it != connections_.end();) {
        if (*it->done) {
          it->thread.join();
          it = connections_.erase(it);
        } else {
          ++it;
        }
      }
      const int broker = connections_.size() < limits::kEmbeddedKafkaBootstrapConnectionsMax
                             ? ConnectToBroker()
                             : -1;
      if (broker < 0) {
        close(client);
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      connections_.push_back({std::thread([this, client, broker, done] {
                                Pump(client, broker);
                                *done = true;
                              }),
                              done});
    }
  }

  // Copies bytes both ways until one side closes or the forwarder stops; closes both.
  void Pump(int a, int b) const {
    std::vector<char> buffer(limits::kEmbeddedKafkaBootstrapBufferBytes);
    bool open = true;
    while (open && !stop_) {
      pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(fds, 2, limits::kEmbeddedKafkaBootstrapPollMs) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t read_bytes = read(fds[i].fd, buffer.data(), buffer.size());
        if (read_bytes <= 0) {
          open = false;
          break;
        }
        const int to = i == 0 ? b : a;
        for (ssize_t sent = 0; sent < read_bytes && open;) {
          const ssize_t wrote = send(to, buffer.data() + sent, read_bytes - sent, MSG_NOSIGNAL);
          if (wrote <= 0) open = false;
          sent += wrote;
        }
      }
    }
    close(a);
    close(b);
  }

  const int listen_fd_;
  const std::vector<int> broker_ports_;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::list<Connection> connections_;  // Only the accepting thread touches it.
};

}  // namespace internal

std::vector<std::string> AllTopics() {
  std::vector<std::string> topics = {std::string(kBranchCommandsTopic),
                                     std::string(kBranchResultsTopic),
                                     std::string(kDeadLetterTopic), std::string(kSagaEventsTopic)};
  for (const RetryTier& tier : kRetryTiers) topics.emplace_back(tier.topic);
  return topics;
}

absl::StatusOr<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::Start(
    int brokers, int partitions, const std::vector<std::string>& topics) {
  if (brokers < 1 || partitions < 1) {
    return absl::InvalidArgumentError(
        "an embedded Kafka needs at least one broker and one partition");
  }
  std::unique_ptr<EmbeddedKafka> kafka(new EmbeddedKafka());
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The hosting client never connects anywhere; it only owns the mock cluster's threads.
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
  kafka->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (kafka->handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("cannot create the hosting Kafka client: ", error));
  }
  kafka->cluster_ = rd_kafka_mock_cluster_new(kafka->handle_, brokers);
  if (kafka->cluster_ == nullptr)
    return absl::UnavailableError("cannot start the mock Kafka cluster");
  kafka->bootstrap_servers_ = rd_kafka_mock_cluster_bootstraps(kafka->cluster_);
  const int replication = std::min(brokers, 3);
  for (const std::string& topic : topics) {
    rd_kafka_resp_err_t created =
        rd_kafka_mock_topic_create(kafka->cluster_, topic.c_str(), partitions, replication);
    if (created != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(
          absl::StrCat("cannot create topic ", topic, ": ", rd_kafka_err2str(created)));
    }
    kafka->topics_.push_back(topic);
  }
  absl::MutexLock lock(&kafka->mu_);
  for (int id = 1; id <= brokers; ++id) {
    v1::KafkaBroker& broker = kafka->brokers_.emplace_back();
    broker.set_broker_id(id);
    broker.set_up(true);
  }
  return kafka;
}

EmbeddedKafka::EmbeddedKafka() = default;

EmbeddedKafka::~EmbeddedKafka() {
  // The forwarder goes first: its connections lead to the brokers.
  forwarder_.reset();
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status EmbeddedKafka::ForwardBootstrapFrom(int port) {
  if (port < 1 || port > 65'535) return absl::InvalidArgumentError("the port must be 1..65535");
  std::vector<int> broker_ports;
  for (absl::string_view address : absl::StrSplit(bootstrap_servers_, ',')) {
    int broker_port = 0;
    const size_t colon = address.rfind(':');
    if (colon != absl::string_view::npos &&
        absl::SimpleAtoi(address.substr(colon + 1), &broker_port)) {
      broker_ports.push_back(broker_port);
    }
  }
  if (broker_ports.empty())
    return absl::InternalError(absl::StrCat("no broker port in ", bootstrap_servers_));
  absl::StatusOr<std::unique_ptr<internal::BootstrapForwarder>> forwarder =
      internal::BootstrapForwarder::Start(port, std::move(broker_ports));
  if (!forwarder.ok()) return forwarder.status();
  forwarder_ = *std::move(forwarder);
  return absl::OkStatus();
}

absl::Status EmbeddedKafka::SetBrokerUp(int32_t broker_id, bool up) {
  absl::MutexLock lock(&mu_);
  if (broker_id < 1 || broker_id > static_cast<int32_t>(brokers_.size())) {
    return absl::NotFoundError(
        absl::StrCat("no broker ", broker_id, "; brokers are 1..", brokers_.size()));
  }
  rd_kafka_resp_err_t result = up ? rd_kafka_mock_broker_set_up(cluster_, broker_id)
                                  : rd_kafka_mock_broker_set_down(cluster_, broker_id);
  if (result != RD_KAFKA_RESP_ERR_NO_ERROR) return absl::InternalError(rd_kafka_err2str(result));
  brokers_[broker_id - 1].set_up(up);
  return absl::OkStatus();
}

absl::Status EmbeddedKafka::SetBrokerLatency(int32_t broker_id, int32_t latency_ms) {
  absl::MutexLock lock(&mu_);
  if (broker_id < 1 || broker_id > static_cast<int32_t>(brokers_.size())) {
    return absl::NotFoundError(
        absl::StrCat("no broker ", broker_id, "; brokers are 1..", brokers_.size()));
  }
  if (latency_ms < 0 || latency_ms > limits::kEmbeddedKafkaLatencyMsMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "latency_ms must be 0..", limits::kEmbeddedKafkaLatencyMsMax, "; got ", latency_ms));
  }
  rd_kafka_resp_err_t result = rd_kafka_mock_broker_set_rtt(cluster_, broker_id, latency_ms);
  if (result != RD_KAFKA_RESP_ERR_NO_ERROR) return absl::InternalError(rd_kafka_err2str(result));
  brokers_[broker_id - 1].set_latency_ms(latency_ms);
  return absl::OkStatus();
}

absl::Status EmbeddedKafka::FailRequests(int32_t api_key, int32_t error_code, int32_t count) {
  // Kafka's protocol carries API keys and error codes in 16 bits; a larger number would be cut
  // to another one silently. -1 is UNKNOWN_SERVER_ERROR.
  if (api_key < 0 || api_key > INT16_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("api_key must be a Kafka API key, 0..", INT16_MAX, "; got ", api_key));
  }
  if (error_code < -1 || error_code > INT16_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "error_code must be a Kafka protocol error number, -1..", INT16_MAX, "; got ", error_code));
  }
  if (count < 1 || count > limits::kEmbeddedKafkaFailedRequestsMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "count 1..", limits::kEmbeddedKafkaFailedRequestsMax, " requests may fail; got ", count));
  }
  std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(cluster_, static_cast<int16_t>(api_key), errors.size(),
                                          errors.data());
  return absl::OkStatus();
}

absl::Status EmbeddedKafka::StallNextRequest(int32_t broker_id, int32_t api_key, int32_t delay_ms) {
  if (api_key < 0 || api_key > INT16_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("api_key must be a Kafka API key, 0..", INT16_MAX, "; got ", api_key));
  }
  if (delay_ms < 0 || delay_ms > limits::kEmbeddedKafkaLatencyMsMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "delay_ms must be 0..", limits::kEmbeddedKafkaLatencyMsMax, "; got ", delay_ms));
  }
  absl::MutexLock lock(&mu_);
  if (broker_id < 1 || broker_id > static_cast<int32_t>(brokers_.size())) {
    return absl::NotFoundError(
        absl::StrCat("no broker ", broker_id, "; brokers are 1..", brokers_.size()));
  }
  const rd_kafka_resp_err_t result = rd_kafka_mock_broker_push_request_error_rtts(
      cluster_, broker_id, static_cast<int16_t>(api_key), 1, RD_KAFKA_RESP_ERR_NO_ERROR,
      static_cast<int>(delay_ms));
  if (result != RD_KAFKA_RESP_ERR_NO_ERROR) return absl::InternalError(rd_kafka_err2str(result));
  return absl::OkStatus();
}

v1::KafkaCluster EmbeddedKafka::Describe() const {
  v1::KafkaCluster cluster;
  cluster.set_bootstrap_servers(bootstrap_servers_);
  absl::MutexLock lock(&mu_);
  for (const v1::KafkaBroker& broker : brokers_) *cluster.add_brokers() = broker;
  for (const std::string& topic : topics_) cluster.add_topics(topic);
  return cluster;
}

}  // namespace fxmesh::kafka
