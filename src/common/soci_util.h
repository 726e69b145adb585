// Helpers for the SOCI adapters (the stores). Only code that talks SQL includes this.
#pragma once

// GCC 12 reports a use-after-free inside soci::rowset's reference counting that depends on how
// the caller's code is inlined: a false positive in a system header, silenced for it alone.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuse-after-free"
#include <soci/soci.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fxmesh {

// Maps a SOCI exception to the status code that tells the caller what to do next: ABORTED for a
// conflict worth retrying, UNAVAILABLE when the database is unreachable or a commit's fate is
// unknown, INTERNAL for a wrong statement.
absl::Status StatusFromSociError(const soci::soci_error& error, absl::string_view during);

// Runs `work` (returning absl::Status or absl::StatusOr<T>) and turns a SOCI exception into a
// status, so no exception leaves an adapter.
template <typename Work>
auto CatchSociErrors(absl::string_view during, Work&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const soci::soci_error& error) {
    return StatusFromSociError(error, during);
  }
}

// Column readers that accept whichever integer width the backend reports (SQLite and PostgreSQL
// type expressions such as SUM and COUNT differently). A NULL reads as 0 or "".
int64_t RowInt64(const soci::row& row, std::size_t column);
std::string RowString(const soci::row& row, std::size_t column);

}  // namespace fxmesh
