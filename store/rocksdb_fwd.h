// The RocksDB types our store headers name, declared once, so that only store/*.cc include
// RocksDB's own headers.
#pragma once

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb
