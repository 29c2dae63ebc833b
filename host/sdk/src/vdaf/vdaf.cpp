#include "janus/vdaf.h"

#include "janus/ids.h"

namespace janus {

VdafShards Vdaf::shard(const nlohmann::json& measurement, ByteSpan nonce) const {
  Bytes rand(rand_size());
  random_bytes(rand);
  return shard(measurement, nonce, rand);
}

}  // namespace janus
