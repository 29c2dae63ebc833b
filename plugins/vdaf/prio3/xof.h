// XofTurboShake128 (VDAF-08 §6.2.1): TurboSHAKE128 over
// byte(len(dst)) ‖ dst ‖ seed ‖ binder with domain byte 0x01, its lockstep
// helpers (several sponges permuting side by side), and what any XOF shares:
// next_vec sampling (sample_vec_chunked, XofVecOutput) and the Direct* forms
// of the lockstep helpers for XOFs without a sponge (xof_hmac.h).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "turboshake.h"

namespace janus::prio3 {

inline constexpr std::size_t kSeedSize = 16;
using Seed = std::array<std::uint8_t, kSeedSize>;

// next_vec (VDAF-08 §6.2) over any XOF's output stream: rejection sampling
// of little-endian candidates, delivered in chunks: sink(const F* values,
// const std::uint8_t* encoded, std::size_t n). The accepted candidates' bytes
// are exactly the field encoding of the values, so callers that need both
// never re-encode. With `scaled`, the values are decode_scaled() ones
// (F::sample_scaled): multiplied by F::decode_scale(), which saves a
// conversion per element. `squeeze(out, n)` reads the XOF's next n bytes.
template <class F, class Squeeze, class Sink>
void sample_vec_chunked(Squeeze&& squeeze, std::size_t count, Sink&& sink, bool scaled) {
  constexpr std::size_t kChunk = 32;
  std::array<std::uint8_t, F::kEncodedSize * kChunk> block;
  std::array<F, kChunk> values;
  std::size_t produced = 0;
  while (produced < count) {
    const std::size_t want = std::min(count - produced, kChunk);
    squeeze(block.data(), want * F::kEncodedSize);
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < want; ++i) {
      const std::uint8_t* candidate = block.data() + i * F::kEncodedSize;
      if (scaled ? F::sample_scaled(candidate, values[accepted])
                 : F::sample(candidate, values[accepted])) {
        if (accepted != i) {
          std::memcpy(block.data() + accepted * F::kEncodedSize, candidate, F::kEncodedSize);
        }
        ++accepted;
      }
    }
    sink(values.data(), block.data(), accepted);
    produced += accepted;
  }
}

// The next_vec forms every XOF offers, from its next_vec_chunked (CRTP).
template <class Xof>
class XofVecOutput {
 public:
  // If `encoded` is given, the encoding of `out` is written there too.
  template <class F>
  void next_vec(F* out, std::size_t count, std::uint8_t* encoded = nullptr) {
    static_cast<Xof*>(this)->template next_vec_chunked<F>(
        count, [&](const F* values, const std::uint8_t* bytes, std::size_t n) {
          std::copy(values, values + n, out);
          out += n;
          if (encoded && n > 0) {
            std::memcpy(encoded, bytes, n * F::kEncodedSize);
            encoded += n * F::kEncodedSize;
          }
        });
  }

  template <class F>
  std::vector<F> next_vec(std::size_t count) {
    std::vector<F> out(count);
    next_vec(out.data(), count);
    return out;
  }
};

class XofTurboShake128 : public XofVecOutput<XofTurboShake128> {
 public:
  static constexpr std::size_t kSeedLength = kSeedSize;
  using SeedType = Seed;

  // The binder may be given here or appended piecewise with absorb_binder()
  // before the first output is read (saves concatenating long binders).
  XofTurboShake128(std::span<const std::uint8_t> seed, std::span<const std::uint8_t> dst,
                   std::span<const std::uint8_t> binder = {}) {
    if (seed.size() != kSeedSize) throw std::invalid_argument("XOF seed must be 16 bytes");
    if (dst.size() > 255) throw std::invalid_argument("XOF dst longer than 255 bytes");
    const std::uint8_t dst_length = static_cast<std::uint8_t>(dst.size());
    sponge_.absorb({&dst_length, 1});
    sponge_.absorb(dst);
    sponge_.absorb(seed);
    sponge_.absorb(binder);
  }

  void absorb_binder(std::span<const std::uint8_t> part) {
    if (finished_) throw std::logic_error("XOF binder after output");
    sponge_.absorb(part);
  }

  void next(std::uint8_t* out, std::size_t length) {
    finish_once();
    sponge_.squeeze(out, length);
  }

  Seed next_seed() {
    Seed seed;
    next(seed.data(), seed.size());
    return seed;
  }

  // next_vec in chunks (see sample_vec_chunked).
  template <class F, class Sink>
  void next_vec_chunked(std::size_t count, Sink&& sink, bool scaled = false) {
    finish_once();
    sample_vec_chunked<F>([this](std::uint8_t* out, std::size_t n) { sponge_.squeeze(out, n); },
                          count, sink, scaled);
  }

  // The sponge, for next_vec_feeding: finished for output, or still taking
  // binder bytes.
  TurboShake128& output_sponge() {
    finish_once();
    return sponge_;
  }
  TurboShake128& binder_sponge() {
    if (finished_) throw std::logic_error("XOF binder after output");
    return sponge_;
  }

 private:
  void finish_once() {
    if (!finished_) {
      sponge_.finish(0x01);
      finished_ = true;
    }
  }

  TurboShake128 sponge_;
  bool finished_ = false;
};

// Bytes on their way into an XOF's binder from inside next_vec_feeding().
class XofFeed {
 public:
  explicit XofFeed(XofTurboShake128& xof) : sponge_(xof.binder_sponge()) {}

  void push(const std::uint8_t* data, std::size_t n) {
    queue_.insert(queue_.end(), data, data + n);
  }
  TurboShake128& sponge() { return sponge_; }
  // Absorbs what fits before the sponge's next permutation.
  void drain() {
    head_ += sponge_.absorb_some(queue_.data() + head_, queue_.size() - head_);
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
    }
  }
  // Absorbs the rest; the XOF may then take more binder or give output.
  void finish() {
    sponge_.absorb({queue_.data() + head_, queue_.size() - head_});
    queue_.clear();
    head_ = 0;
  }

 private:
  TurboShake128& sponge_;
  std::vector<std::uint8_t> queue_;
  std::size_t head_ = 0;
};

// One next_vec in progress, block by block, for the lockstep drivers below:
// step() samples what the XOF's current output block has left (never
// permuting) and hands the accepted values to `sink` as next_vec_chunked
// does; the sponge then waits for TurboShake128::permute_pending().
template <class F>
class BlockSampler {
 public:
  BlockSampler(XofTurboShake128& xof, std::size_t count, bool scaled = false)
      : sponge_(xof.output_sponge()), count_(count), scaled_(scaled) {}

  bool done() const { return produced_ == count_; }
  TurboShake128& sponge() { return sponge_; }

  template <class Sink>
  void step(Sink&& sink) {
    constexpr std::size_t kSize = F::kEncodedSize;
    have_ += sponge_.squeeze_some(bytes_.data() + have_, TurboShake128::kRate);
    std::size_t used = 0, accepted = 0;
    if (F::kScaledIsEncoding && scaled_) {
      // Range checks only, then one copy of the accepted run: building each
      // value from two 64-bit halves and reading it back whole stalled on
      // store forwarding (perf: ~10 % of a long helper expansion).
      for (; used + kSize <= have_ && produced_ + accepted < count_; used += kSize) {
        const std::uint8_t* candidate = bytes_.data() + used;
        if (F::encoded_in_range(candidate)) {
          if (accepted * kSize != used) {
            std::memcpy(bytes_.data() + accepted * kSize, candidate, kSize);
          }
          ++accepted;
        }
      }
      if (accepted > 0) {
        std::memcpy(static_cast<void*>(values_.data()), bytes_.data(), accepted * kSize);
      }
    } else {
      for (; used + kSize <= have_ && produced_ + accepted < count_; used += kSize) {
        const std::uint8_t* candidate = bytes_.data() + used;
        if (scaled_ ? F::sample_scaled(candidate, values_[accepted])
                    : F::sample(candidate, values_[accepted])) {
          if (accepted * kSize != used) {
            std::memcpy(bytes_.data() + accepted * kSize, candidate, kSize);
          }
          ++accepted;
        }
      }
    }
    if (accepted > 0)
      sink(values_.data(), static_cast<const std::uint8_t*>(bytes_.data()), accepted);
    produced_ += accepted;
    std::memmove(bytes_.data(), bytes_.data() + used, have_ - used);
    have_ -= used;
  }

 private:
  TurboShake128& sponge_;
  std::size_t count_, produced_ = 0, have_ = 0;
  bool scaled_;
  // One block plus a candidate left over from the previous block.
  std::array<std::uint8_t, TurboShake128::kRate + F::kEncodedSize> bytes_;
  std::array<F, TurboShake128::kRate / F::kEncodedSize + 1> values_;
};

// A BlockSampler that writes its values to an array: an independent
// expansion riding along with a lockstep driver's permutations.
template <class F>
class Passenger {
 public:
  Passenger(XofTurboShake128& xof, F* out, std::size_t count, bool scaled = false)
      : sampler_(xof, count, scaled), out_(out) {}
  bool done() const { return sampler_.done(); }
  TurboShake128& sponge() { return sampler_.sponge(); }
  void step() {
    sampler_.step([this](const F* values, const std::uint8_t*, std::size_t n) {
      out_ = std::copy(values, values + n, out_);
    });
  }
  // Runs the rest alone.
  void finish() {
    for (step(); !done(); step()) {
      TurboShake128* sponge = &sampler_.sponge();
      TurboShake128::permute_pending(&sponge, 1);
    }
  }

 private:
  BlockSampler<F> sampler_;
  F* out_;
};

// next_vec_chunked for an XOF whose output also feeds other XOFs' binders
// (Prio3 hashes measurement shares into joint randomness parts as they are
// expanded): the sink pushes bytes into the feeds, and each block's
// permutations of all the sponges, plus those of independent expansions
// riding along (passengers), run together (TurboShake128::permute_pending,
// four at a time), which is where the time goes for long measurements.
// Afterwards the passengers are complete; call finish() on each feed.
template <class F, class Sink>
void next_vec_feeding(XofTurboShake128& source, std::size_t count, std::span<XofFeed* const> feeds,
                      Sink&& sink, bool scaled = false,
                      std::span<Passenger<F>* const> passengers = {}) {
  if (feeds.size() + passengers.size() > 3) {
    throw std::invalid_argument("next_vec_feeding: at most three feeds and passengers");
  }
  BlockSampler<F> sampler(source, count, scaled);
  while (!sampler.done()) {
    sampler.step(sink);
    TurboShake128* sponges[4];
    std::size_t n = 0;
    if (!sampler.done()) sponges[n++] = &sampler.sponge();
    for (Passenger<F>* passenger : passengers) {
      if (passenger->done()) continue;
      passenger->step();
      if (!passenger->done()) sponges[n++] = &passenger->sponge();
    }
    for (XofFeed* feed : feeds) {
      feed->drain();
      sponges[n++] = &feed->sponge();
    }
    TurboShake128::permute_pending(sponges, n);
    for (XofFeed* feed : feeds) feed->drain();
  }
  for (Passenger<F>* passenger : passengers) passenger->finish();
}

// Absorbs `data` into `xof`'s binder while the passengers (at most three)
// expand, permuting side by side; afterwards the passengers are complete.
template <class F>
void absorb_alongside(XofTurboShake128& xof, std::span<const std::uint8_t> data,
                      std::span<Passenger<F>* const> passengers) {
  if (passengers.size() > 3)
    throw std::invalid_argument("absorb_alongside: at most three passengers");
  TurboShake128& sponge = xof.binder_sponge();
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
  for (;;) {
    const std::size_t taken = sponge.absorb_some(p, left);
    p += taken;
    left -= taken;
    TurboShake128* sponges[4];
    std::size_t n = 0;
    for (Passenger<F>* passenger : passengers) {
      if (passenger->done()) continue;
      passenger->step();
      if (!passenger->done()) sponges[n++] = &passenger->sponge();
    }
    if (n == 0) break;  // the rest is absorbed alone below
    sponges[n++] = &sponge;
    TurboShake128::permute_pending(sponges, n);
    if (left == 0) break;
  }
  sponge.absorb({p, left});  // the plain path: whole blocks straight from `data`
  for (Passenger<F>* passenger : passengers) passenger->finish();
}

// The lockstep helpers above for an XOF without a TurboSHAKE sponge (such as
// XofHmacSha256Aes128): the same calls, done one after the other. A
// DirectFeed absorbs what is pushed at once; a DirectPassenger expands when
// its driver finishes.
template <class Xof>
class DirectFeed {
 public:
  explicit DirectFeed(Xof& xof) : xof_(xof) {}
  void push(const std::uint8_t* data, std::size_t n) { xof_.absorb_binder({data, n}); }
  void finish() {}

 private:
  Xof& xof_;
};

template <class F, class Xof>
class DirectPassenger {
 public:
  DirectPassenger(Xof& xof, F* out, std::size_t count, bool scaled = false)
      : xof_(xof), out_(out), count_(count), scaled_(scaled) {}
  void finish() {
    if (done_) return;
    done_ = true;
    F* out = out_;
    xof_.template next_vec_chunked<F>(
        count_,
        [&](const F* values, const std::uint8_t*, std::size_t n) {
          out = std::copy(values, values + n, out);
        },
        scaled_);
  }

 private:
  Xof& xof_;
  F* out_;
  std::size_t count_;
  bool scaled_;
  bool done_ = false;
};

template <class Xof>
inline constexpr bool kXofIsTurboShake = std::is_same_v<Xof, XofTurboShake128>;
template <class Xof>
using FeedFor = std::conditional_t<kXofIsTurboShake<Xof>, XofFeed, DirectFeed<Xof>>;
template <class F, class Xof>
using PassengerFor =
    std::conditional_t<kXofIsTurboShake<Xof>, Passenger<F>, DirectPassenger<F, Xof>>;

template <class F, class Xof, class Sink>
void next_vec_feeding(Xof& source, std::size_t count, std::span<DirectFeed<Xof>* const> feeds,
                      Sink&& sink, bool scaled = false,
                      std::span<DirectPassenger<F, Xof>* const> passengers = {}) {
  (void)feeds;  // the sink pushes into them; they absorb as it does
  source.template next_vec_chunked<F>(count, sink, scaled);
  for (DirectPassenger<F, Xof>* passenger : passengers) passenger->finish();
}

template <class F, class Xof>
void absorb_alongside(Xof& xof, std::span<const std::uint8_t> data,
                      std::span<DirectPassenger<F, Xof>* const> passengers) {
  xof.absorb_binder(data);
  for (DirectPassenger<F, Xof>* passenger : passengers) passenger->finish();
}

template <class Xof = XofTurboShake128>
typename Xof::SeedType derive_seed(std::span<const std::uint8_t> seed,
                                   std::span<const std::uint8_t> dst,
                                   std::span<const std::uint8_t> binder) {
  return Xof(seed, dst, binder).next_seed();
}

template <class F, class Xof = XofTurboShake128>
std::vector<F> expand_into_vec(std::span<const std::uint8_t> seed,
                               std::span<const std::uint8_t> dst,
                               std::span<const std::uint8_t> binder, std::size_t count) {
  return Xof(seed, dst, binder).template next_vec<F>(count);
}

}  // namespace janus::prio3
