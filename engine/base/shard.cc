#include "engine/base/shard.h"

#include <xxhash.h>

namespace salvo {

uint32_t ShardOf(std::string_view address_key) {
  return static_cast<uint32_t>(XXH64(address_key.data(), address_key.size(), 0) % kVirtualShards);
}

}  // namespace salvo
