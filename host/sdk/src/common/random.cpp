#include <openssl/rand.h>

#include <limits>
#include <stdexcept>

#include "janus/ids.h"

namespace janus {

void random_bytes(std::span<std::uint8_t> out) {
  while (!out.empty()) {
    std::size_t chunk = std::min<std::size_t>(out.size(), std::numeric_limits<int>::max());
    if (RAND_bytes(out.data(), static_cast<int>(chunk)) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    out = out.subspan(chunk);
  }
}

}  // namespace janus
