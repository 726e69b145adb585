// Proves the relay as real processes under a crash: two fxmesh-relay processes share one consumer
// group; while they work through 120 commands one is killed with SIGKILL; the other takes its
// partitions over, and every command still produces its result, every hold is settled exactly as
// commanded (a repeated command is harmless: the ledger is idempotent), and the group's committed
// offsets reach the end of the commands topic (consumer lag zero).
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "fxmesh/v1/relay.pb.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

// The committed offsets of `group` on `topic` summed, and the topic's end offsets summed.
std::pair<int64_t, int64_t> CommittedAndEnd(const std::string& bootstrap, const std::string& group,
                                            const std::string& topic, int partitions) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof(error));
  rd_kafka_conf_set(conf, "group.id", group.c_str(), error, sizeof(error));
  rd_kafka_t* client = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  REQUIRE(client != nullptr);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  REQUIRE(rd_kafka_committed(client, list, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  int64_t committed = 0, end = 0;
  for (int p = 0; p < partitions; ++p) {
    committed += std::max<int64_t>(list->elems[p].offset, 0);
    int64_t low = 0, high = 0;
    REQUIRE(rd_kafka_query_watermark_offsets(client, topic.c_str(), p, &low, &high, 10'000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR);
    end += high;
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(client);
  return {committed, end};
}

TEST_CASE(
    "a relay killed mid-work hands its partitions to the other and nothing is lost or doubled",
    "[relay][kafka][binary][chaos]") {
  const std::string dir = MakeTempDir("fxmesh-relay-crash");
  ServiceProcess kafka(FXMESH_KAFKA_PATH,
                       {"--listen=127.0.0.1:0", "--brokers=3", "--partitions=6",
                        absl::StrCat("--bootstrap_file=", dir, "/bootstrap")},
                       {});
  kafka.WaitForPort();
  ServiceProcess ledger(FXMESH_KRW_LEDGER_PATH,
                        {"--listen=127.0.0.1:0", absl::StrCat("--db=sqlite:", dir, "/krw.db")}, {});
  const int ledger_port = ledger.WaitForPort();
  std::string bootstrap;
  std::getline(*std::make_unique<std::ifstream>(dir + "/bootstrap"), bootstrap);
  auto stub = v1::LedgerService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", ledger_port), grpc::InsecureChannelCredentials()));

  v1::OpenAccountRequest open;
  open.set_account_id("alice");
  open.set_owner("alice");
  open.set_currency("KRW");
  v1::AccountResponse opened;
  REQUIRE(stub->OpenAccount(Context().get(), open, &opened).ok());
  v1::ExternalTransferRequest deposit;
  deposit.set_request_id("d1");
  deposit.set_account_id("alice");
  deposit.mutable_amount()->set_amount_minor(1'000'000);
  deposit.mutable_amount()->set_currency("KRW");
  v1::ExternalTransferResponse deposited;
  REQUIRE(stub->Deposit(Context().get(), deposit, &deposited).ok());

  // 120 held branches: even ones will be confirmed, odd ones cancelled.
  constexpr int kCommands = 120;
  std::vector<std::string> sagas;
  for (int i = 0; i < kCommands; ++i) {
    v1::TryRequest request;
    request.mutable_branch()->set_saga_id(NewSagaId());
    request.mutable_branch()->set_branch("krw");
    request.set_customer_id("alice");
    request.set_debit_account_id("alice");
    request.set_credit_account_id("position:KRW");
    request.mutable_amount()->set_amount_minor(100);
    request.mutable_amount()->set_currency("KRW");
    v1::BranchResponse tried;
    REQUIRE(stub->Try(Context().get(), request, &tried).ok());
    REQUIRE(tried.outcome() == v1::OUTCOME_APPLIED);
    sagas.push_back(request.branch().saga_id());
  }

  const std::vector<std::string> relay_flags = {
      "--listen=127.0.0.1:0", absl::StrCat("--kafka_brokers=", bootstrap), "--group=crash-test",
      absl::StrCat("--krw_ledger=127.0.0.1:", ledger_port), "--tier_delays_ms=200,400"};
  auto first =
      std::make_unique<ServiceProcess>(FXMESH_RELAY_PATH, relay_flags, std::vector<std::string>{});
  ServiceProcess second(FXMESH_RELAY_PATH, relay_flags, {});
  first->WaitForPort();
  second.WaitForPort();

  auto producer = *kafka::KafkaProducer::Create(bootstrap, "crash-test", absl::Seconds(20));
  std::vector<kafka::OutgoingMessage> messages;
  // Every delivery report counts, those that arrive while commands are still being produced too.
  // The test's own producer is not under test: a command it failed to deliver (the mock cluster
  // can miss the delivery timeout on a busy machine) is sent again, which the relay must absorb.
  int acknowledged = 0, sent_again = 0;
  auto count = [&](absl::Duration wait) {
    for (const kafka::DeliveryReport& report : producer->Poll(wait)) {
      if (report.status.ok()) {
        ++acknowledged;
      } else {
        ++sent_again;
        REQUIRE(producer->Produce(messages[report.token - 1]).ok());
      }
    }
  };
  for (int i = 0; i < kCommands; ++i) {
    v1::BranchCommand command;
    command.mutable_branch()->set_saga_id(sagas[i]);
    command.mutable_branch()->set_branch("krw");
    command.set_participant("krw-ledger");
    command.set_op(i % 2 == 0 ? v1::BRANCH_OP_CONFIRM : v1::BRANCH_OP_CANCEL);
    command.set_attempt(1);
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(command, &json);
    messages.push_back({"fxmesh.branch.commands", sagas[i], json, {}, i + 1});
    REQUIRE(producer->Produce(messages.back()).ok());
    count(absl::ZeroDuration());
    if (i == kCommands / 3) first->Signal(SIGKILL);  // Mid-work, with commands in flight.
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(90);
  while (acknowledged < kCommands && absl::Now() < give_up) count(absl::Milliseconds(50));
  INFO("commands sent again after a failed delivery: " << sent_again);
  REQUIRE(acknowledged == kCommands);
  CHECK(first->WaitForExit() == 128 + SIGKILL);

  // Every saga gets at least one result; duplicates may come from the killed relay's uncommitted
  // work, and must agree.
  auto reader =
      *kafka::KafkaConsumer::Create(bootstrap, "crash-test-reader", {"fxmesh.branch.results"});
  std::set<std::string> answered;
  const absl::Time results_deadline = absl::Now() + absl::Seconds(60);
  while (answered.size() < sagas.size() && absl::Now() < results_deadline) {
    if (auto message = reader->Poll(absl::Milliseconds(100))) {
      v1::BranchResult result;
      REQUIRE(google::protobuf::util::JsonStringToMessage(message->value, &result).ok());
      CHECK((result.outcome() == v1::OUTCOME_APPLIED || result.outcome() == v1::OUTCOME_DUPLICATE));
      answered.insert(result.branch().saga_id());
    }
  }
  CHECK(answered.size() == sagas.size());

  // The ledger settled each hold exactly as commanded, and the books balance.
  for (int i = 0; i < kCommands; ++i) {
    v1::ListHoldsRequest request;
    request.set_saga_id(sagas[i]);
    v1::ListHoldsResponse holds;
    REQUIRE(stub->ListHolds(Context().get(), request, &holds).ok());
    REQUIRE(holds.holds_size() == 1);
    CHECK(holds.holds(0).state() ==
          (i % 2 == 0 ? v1::HOLD_STATE_CONFIRMED : v1::HOLD_STATE_CANCELLED));
  }
  v1::GetAccountRequest get;
  get.set_account_id("alice");
  v1::Account alice;
  REQUIRE(stub->GetAccount(Context().get(), get, &alice).ok());
  CHECK(alice.available_minor() == 1'000'000 - 100 * kCommands / 2);
  CHECK(alice.held_minor() == 0);
  v1::BalanceSheet sheet;
  REQUIRE(stub->GetBalanceSheet(Context().get(), v1::GetBalanceSheetRequest(), &sheet).ok());
  CHECK(sheet.balanced());

  // The surviving relay committed everything: consumer lag is zero.
  std::pair<int64_t, int64_t> offsets;
  const absl::Time lag_deadline = absl::Now() + absl::Seconds(20);
  do {
    offsets = CommittedAndEnd(bootstrap, "crash-test", "fxmesh.branch.commands", 6);
    if (offsets.first == offsets.second) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (absl::Now() < lag_deadline);
  CHECK(offsets.first == offsets.second);
  CHECK(offsets.second == kCommands);
  CHECK(second.Terminate() == 0);
}

}  // namespace
}  // namespace fxmesh::testing
