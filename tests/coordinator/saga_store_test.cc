// Proves that the coordinator's stored rows are read safely on both backends: a saga's branches
// written by a newer version (fields this one does not know) still drive the saga to the end; a
// saga whose branches cannot be read, or that has none, never moves and raises an alert, instead of
// completing with no ledger call; and a proposed resolution gets the id its own insert was given
// even when another proposal for the same saga lands in between.
#include <catch2/catch.hpp>

#include "absl/strings/str_replace.h"
#include "common/soci_util.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

std::string StoredBranches(Database& database, const std::string& saga_id) {
  std::string branches;
  REQUIRE(database
              .Read([&](soci::session& sql) {
                sql << "SELECT branches FROM sagas WHERE saga_id = :s", soci::use(saga_id),
                    soci::into(branches);
                return absl::OkStatus();
              })
              .ok());
  return branches;
}

void StoreBranches(Database& database, const std::string& saga_id, const std::string& branches) {
  REQUIRE(database
              .Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                sql << "UPDATE sagas SET branches = :b WHERE saga_id = :s", soci::use(branches),
                    soci::use(saga_id);
                return Completion::kCommit;
              })
              .ok());
}

FXMESH_BACKEND_TEST("branches written by a newer version are read and the saga completes",
                    "[coordinator][db]") {
  CoordinatorHarness mesh(backend);
  const std::string saga_id = mesh.UndrivenSaga("newer-version");
  const std::string stored = StoredBranches(mesh.coordinator_database(), saga_id);
  REQUIRE(stored.find("\"branch\":\"krw\"") != std::string::npos);
  // What a later version might add: a top-level field and a field inside each branch.
  const std::string newer = absl::StrReplaceAll(
      stored, {{"{\"branches\":[", "{\"writtenBy\":\"fxmesh 9\",\"branches\":["},
               {"\"branch\":\"krw\"", "\"branch\":\"krw\",\"feeMinor\":\"5\",\"fee\":{\"x\":1}"},
               {"\"branch\":\"fx\"", "\"branch\":\"fx\",\"feeMinor\":\"7\""}});
  REQUIRE(newer != stored);
  StoreBranches(mesh.coordinator_database(), saga_id, newer);

  absl::StatusOr<std::optional<v1::Saga>> read = mesh.store().GetSaga(saga_id);
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->branches_size() == 2);
  CHECK(mesh.Settle() == 0);
  CHECK(mesh.Saga(saga_id).state() == v1::SAGA_STATE_COMPLETED);
  CHECK(mesh.krw().delivered(CallKind::kConfirm) == 1);
  CHECK(mesh.fx().delivered(CallKind::kConfirm) == 1);
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("a saga whose branches cannot be read never moves and raises an alert",
                    "[coordinator][db]") {
  const std::string broken = GENERATE(std::string("{\"branches\":[{\"branch\":"), std::string("{}"),
                                      std::string("{\"branches\":[]}"));
  INFO("stored branches: " << broken);
  CoordinatorHarness mesh(backend);
  const std::string saga_id = mesh.UndrivenSaga("unreadable");
  StoreBranches(mesh.coordinator_database(), saga_id, broken);

  absl::StatusOr<std::optional<v1::Saga>> read = mesh.store().GetSaga(saga_id);
  CHECK(absl::IsDataLoss(read.status()));
  absl::StatusOr<v1::Saga> driven = mesh.engine().driver().Drive(saga_id);
  CHECK(absl::IsDataLoss(driven.status()));
  // The recovery loop leaves it where it is: no Try, no Confirm, no state change.
  mesh.Settle(absl::Seconds(1));
  CHECK(mesh.krw().delivered(CallKind::kTry) == 0);
  CHECK(mesh.fx().delivered(CallKind::kTry) == 0);
  absl::StatusOr<v1::Alerts> alerts = mesh.engine().operators().GetAlerts();
  REQUIRE(alerts.ok());
  CHECK(alerts->unreadable_saga_alerts_total() >= 1);
  // Still CREATED in storage; the customer was never told COMPLETED.
  std::string state_text;
  REQUIRE(mesh.coordinator_database()
              .Read([&](soci::session& sql) {
                int state = 0;
                sql << "SELECT state FROM sagas WHERE saga_id = :s", soci::use(saga_id),
                    soci::into(state);
                state_text = v1::SagaState_Name(static_cast<v1::SagaState>(state));
                return absl::OkStatus();
              })
              .ok());
  CHECK(state_text == "SAGA_STATE_CREATED");
}

FXMESH_BACKEND_TEST("a resolution gets its own id when another proposal lands in between",
                    "[coordinator][db]") {
  CoordinatorHarness mesh(backend);
  const std::string saga_id = mesh.UndrivenSaga("resolution-race");
  // Another proposal for the same saga commits right after this one's insert, before its id is
  // read back: done here by a trigger, deterministically.
  const bool postgres = backend == Backend::kPostgres;
  const std::string columns =
      "saga_id, action, reason_code, note, state, proposed_by, proposed_at_us, approved_by,"
      " approved_at_us";
  const std::string values =
      "NEW.saga_id, NEW.action, NEW.reason_code, 'concurrent', NEW.state, 'another-operator',"
      " NEW.proposed_at_us, '', 0";
  REQUIRE(mesh.coordinator_database()
              .Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                if (postgres) {
                  sql << "CREATE FUNCTION concurrent_proposal() RETURNS trigger LANGUAGE plpgsql"
                         " AS $$ BEGIN IF NEW.note = 'mine' THEN INSERT INTO resolutions ("
                      << columns << ") VALUES (" << values << "); END IF; RETURN NEW; END $$";
                  sql << "CREATE TRIGGER concurrent_proposal AFTER INSERT ON resolutions"
                         " FOR EACH ROW EXECUTE FUNCTION concurrent_proposal()";
                } else {
                  sql << "CREATE TRIGGER concurrent_proposal AFTER INSERT ON resolutions"
                         " WHEN NEW.note = 'mine' BEGIN INSERT INTO resolutions ("
                      << columns << ") VALUES (" << values << "); END";
                }
                return Completion::kCommit;
              })
              .ok());
  v1::ProposeResolutionRequest propose;
  propose.set_saga_id(saga_id);
  propose.set_operator_("alice-ops");
  propose.set_action(v1::RESOLUTION_ACTION_CANCEL);
  propose.set_reason_code("CUSTOMER_REQUEST");
  propose.set_note("mine");
  absl::StatusOr<v1::Resolution> proposed = mesh.engine().operators().ProposeResolution(propose);
  REQUIRE(proposed.ok());
  absl::StatusOr<std::optional<v1::Resolution>> read =
      mesh.store().GetResolution(proposed->resolution_id());
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->note() == "mine");
  CHECK((*read)->proposed_by() == "alice-ops");
  CHECK(mesh.store().ListResolutions(saga_id)->size() == 2);
}

}  // namespace
}  // namespace fxmesh::coordinator
