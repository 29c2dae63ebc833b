// libFuzzer target for one top-level DAP-09 decoder (or taskprov's TaskConfig), chosen at
// compile time by JANUS_FUZZ_MESSAGE. Properties checked on every input:
//   - decoding either succeeds or throws DecodeError (any other exception,
//     crash, over-read or UB is a finding: ASan/UBSan abort);
//   - a successful decode re-encodes to exactly the input (the encoding is
//     canonical, so a decoder that accepts sloppy input shows up here).
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "janus/messages.h"
#include "janus/taskprov.h"

#ifndef JANUS_FUZZ_MESSAGE
#error "define JANUS_FUZZ_MESSAGE to a message type"
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const janus::ByteSpan input(data, size);
  try {
    const auto message = janus::decode_message<janus::JANUS_FUZZ_MESSAGE>(input);
    const janus::Bytes reencoded = janus::encode_message(message);
    if (reencoded.size() != size || !std::equal(reencoded.begin(), reencoded.end(), data))
      std::abort();
  } catch (const janus::DecodeError&) {
    // Rejected cleanly.
  }
  return 0;
}
