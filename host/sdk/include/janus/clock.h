// An injectable wall clock: components take time from a Clock so that tests
// can move it instead of sleeping.
#pragma once

#include <atomic>
#include <cstdint>

namespace janus {

// Seconds since the UNIX epoch, as DAP's Time.
using UnixSeconds = std::uint64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixSeconds now() const = 0;
};

class RealClock final : public Clock {
 public:
  UnixSeconds now() const override;
};

// A clock that only moves when told to (tests).
class MockClock final : public Clock {
 public:
  explicit MockClock(UnixSeconds start) : now_(start) {}
  UnixSeconds now() const override { return now_.load(); }
  void advance(UnixSeconds seconds) { now_ += seconds; }
  void set(UnixSeconds t) { now_ = t; }

 private:
  std::atomic<UnixSeconds> now_;
};

}  // namespace janus
