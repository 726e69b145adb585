// RETURN_IF_ERROR and ASSIGN_OR_RETURN, which this Abseil (20220623) does not ship yet.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FXMESH_CONCAT_INNER(a, b) a##b
#define FXMESH_CONCAT(a, b) FXMESH_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status fxmesh_status_ = (expr);          \
    if (!fxmesh_status_.ok()) return fxmesh_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` binds the value of a StatusOr or returns its status.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  FXMESH_ASSIGN_OR_RETURN_IMPL(FXMESH_CONCAT(fxmesh_statusor_, __LINE__), lhs, rexpr)

#define FXMESH_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
