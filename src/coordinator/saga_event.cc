#include "coordinator/saga_event.h"

#include <google/protobuf/util/time_util.h>

#include <string>

#include "common/proto_json.h"
#include "common/tracing.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {

OutboxMessage SagaEventMessage(const v1::Saga& saga, const StepRecord& step, int attempt,
                               absl::Time at) {
  const std::string& saga_id = saga.saga_id();
  v1::SagaEvent event;
  event.set_saga_id(saga_id);
  event.set_from_state(step.from_state);
  event.set_to_state(step.to_state);
  event.set_attempt(attempt);
  event.set_detail(step.detail);
  *event.mutable_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(at));
  event.set_customer_id(saga.customer_id());
  event.set_failure_reason(saga.failure_reason());
  return OutboxMessage{0, std::string(kafka::kSagaEventsTopic), saga_id, ProtoToJson(event),
                       TraceContext{saga_id, RootSpanId(saga_id)}.ToTraceparent()};
}

}  // namespace fxmesh::coordinator
