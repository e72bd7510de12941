// Virtual shards: a recipient lives in shard = XXH64(key) mod kVirtualShards, where key is the
// case-folded normalized address. Workers own disjoint sets of virtual shards at run time.
#pragma once

#include <cstdint>
#include <string_view>

namespace salvo {

inline constexpr uint32_t kVirtualShards = 64;

// Stable across processes, machines and releases (XXH64, seed 0). Never change it: the
// store's key layout depends on it.
uint32_t ShardOf(std::string_view address_key);

// The full 64-bit hash behind ShardOf (ShardOf == AddressHash % kVirtualShards). It names a
// recipient in the compact VERP bounce tag and keys the store's address-hash index.
uint64_t AddressHash(std::string_view address_key);

// Which worker owns a virtual shard when `workers` workers run.
inline uint32_t WorkerOfShard(uint32_t shard, uint32_t workers) { return shard % workers; }

}  // namespace salvo
