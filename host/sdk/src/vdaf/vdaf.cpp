#include "janus/vdaf.h"

#include "janus/ids.h"

namespace janus {

VdafShards Vdaf::shard(const nlohmann::json& measurement, ByteSpan nonce) const {
  Bytes rand(rand_size());
  random_bytes(rand);
  return shard(measurement, nonce, rand);
}

Bytes Vdaf::aggregation_parameter_from_json(const nlohmann::json& parameter) const {
  if (!parameter.is_null()) {
    throw VdafInputError(description().name + " takes no aggregation parameter");
  }
  return {};
}

}  // namespace janus
