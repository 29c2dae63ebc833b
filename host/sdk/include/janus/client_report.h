// What a DAP-09 client does to make a report (DAP-09 §4.4.2): shard the measurement with a
// fresh report id as nonce, and seal each input share, with its extensions, to its
// aggregator's HPKE config under the DAP-09 info and InputShareAad. Used by the interop
// client role and by tests that need reports the npm client cannot make (taskprov).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "janus/messages.h"
#include "janus/vdaf.h"

namespace janus {

// `measurement` is in the VDAF's JSON form; `time` is used as given; both shares carry
// `extensions`. Throws std::invalid_argument when the VDAF does not make two input shares.
Report make_client_report(const TaskId& task_id, const Vdaf& vdaf,
                          const nlohmann::json& measurement, Time time, const HpkeConfig& leader,
                          const HpkeConfig& helper, const std::vector<Extension>& extensions = {});

}  // namespace janus
