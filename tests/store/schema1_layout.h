// Test helper: rewrites the recipients of an open store in schema 1's layout, as releases before
// the key-order change wrote them: column family "recipients" keyed by address key, no schema
// version in meta. Reopening the store migrates them (store/store.cc MigrateSchema). Close the
// store right after (its Cf::kRecipients handle is dropped).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "store/record_codec.h"
#include "store/store_internals.h"

namespace salvo::test {

inline void RewriteAsSchema1(Store* store) {
  rocksdb::DB* db = DbOf(store);
  rocksdb::ColumnFamilyHandle* old = nullptr;
  ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "recipients", &old).ok());
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), CfOf(store, Cf::kRecipients)));
  rocksdb::WriteBatch wb;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    ASSERT_EQ(static_cast<uint32_t>(static_cast<uint8_t>(key[0])),
              ShardOf(AddressKeyOfRecipientKey(key)));
    wb.Put(old, rocksdb::Slice(AddressKeyOfRecipientKey(key)), it->value());
  }
  ASSERT_TRUE(it->status().ok());
  it.reset();
  wb.Delete(CfOf(store, Cf::kMeta), std::string("schema", 6) + '\0' + "version");
  ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &wb).ok());
  ASSERT_TRUE(db->DropColumnFamily(CfOf(store, Cf::kRecipients)).ok());
  ASSERT_TRUE(db->DestroyColumnFamilyHandle(old).ok());
}

}  // namespace salvo::test
