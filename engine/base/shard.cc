#include "engine/base/shard.h"

#include <xxhash.h>

namespace salvo {

uint64_t AddressHash(std::string_view address_key) {
  return XXH64(address_key.data(), address_key.size(), 0);
}

uint32_t ShardOf(std::string_view address_key) {
  return static_cast<uint32_t>(AddressHash(address_key) % kVirtualShards);
}

}  // namespace salvo
