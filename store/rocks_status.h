// RocksDB's status as an absl::Status: one mapping for the whole store, so that callers can tell
// a missing key from a busy or full disk and from damaged data.
//
//   OK -> OK                        NotFound -> NotFound
//   Busy, TryAgain, TimedOut, Aborted, ShutdownInProgress, Incomplete -> Unavailable
//   IOError -> Unavailable (ResourceExhausted when the disk is full); RocksDB's text names the path
//   Corruption -> DataLoss          InvalidArgument -> InvalidArgument
//   NotSupported -> Unimplemented   anything else -> Internal
// The message is "WHAT: <RocksDB's text>".
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace salvo {

[[nodiscard]] absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace salvo
