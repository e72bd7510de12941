// Status helpers shared by every module. Debian 12's abseil (20220623) has no
// ABSL_RETURN_IF_ERROR / ASSIGN_OR_RETURN, so we define them once, here.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SALVO_CONCAT_INNER_(a, b) a##b
#define SALVO_CONCAT_(a, b) SALVO_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` (an absl::Status) is not ok.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status salvo_status_ = (expr);     \
    if (!salvo_status_.ok()) return salvo_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` — declares/assigns x from a StatusOr, or returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SALVO_ASSIGN_OR_RETURN_IMPL_(SALVO_CONCAT_(salvo_statusor_, __LINE__), lhs, expr)
#define SALVO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
