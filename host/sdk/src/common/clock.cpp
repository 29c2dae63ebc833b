#include "janus/clock.h"

#include <chrono>

namespace janus {

UnixSeconds RealClock::now() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<UnixSeconds>(
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count());
}

}  // namespace janus
