// `janus_cli collect`: a DAP-09 collector (Janus's tools `collect`): creates a collection job
// on the leader, polls it, opens both aggregate shares with the collector's HPKE key and
// unshards them with the task's VDAF.
#include <chrono>
#include <ostream>
#include <thread>

#include "cli_arguments.h"
#include "collector.h"
#include "commands.h"
#include "janus/codec.h"
#include "janus/hpke.h"
#include "janus/http_client.h"
#include "janus/messages.h"
#include "janus/vdaf.h"

namespace janus::cli {
namespace {

const char kCollectUsage[] =
    "Usage: janus_cli collect --task-id ID --leader URL --vdaf NAME [VDAF OPTIONS]\n"
    "         (--authorization-bearer-token TOKEN | --dap-auth-token TOKEN)\n"
    "         --hpke-config B64URL --hpke-private-key B64URL\n"
    "         (--batch-interval-start S --batch-interval-duration D | --batch-id B64URL |\n"
    "          --current-batch) [--aggregation-parameter JSON] [--poll-interval S] [--timeout "
    "S]\n\n"
    "Collects a batch from the leader and prints the aggregate result.\n"
    "  --vdaf count | sum (--bits) | sumvec (--bits --length --chunk-length)\n"
    "         | histogram (--length --chunk-length)\n"
    "         | fixedpoint16bitboundedl2vecsum | fixedpoint32bitboundedl2vecsum (--length)\n"
    "         | poplar1 (--bits, and --aggregation-parameter)\n"
    "  --aggregation-parameter  the VDAF's parameter as JSON; Poplar1 counts candidate\n"
    "                    prefixes at a level: '{\"level\": 1, \"prefixes\": [\"00\", \"01\"]}'\n"
    "                    (a prefix is level + 1 bits: a '0'/'1' string or an integer;\n"
    "                    strictly increasing; the result has one count per prefix)\n"
    "  --hpke-config       the collector's encoded HpkeConfig, base64url\n"
    "  --hpke-private-key  its private key, base64url\n"
    "  --poll-interval     seconds between polls of a pending job (default 1)\n"
    "  --timeout           give up after this many seconds (default 600)\n";

std::uint64_t number(const Arguments& args, const std::string& name) {
  std::string text = args.required(name);
  std::size_t used = 0;
  std::uint64_t value = 0;
  try {
    if (!text.empty() && text[0] != '-' && text[0] != '+') value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) {
    throw UsageError(name + ": expected a non-negative integer, not '" + text + "'");
  }
  return value;
}

Bytes base64url_option(const Arguments& args, const std::string& name) {
  auto decoded = base64url_decode(args.required(name));
  if (!decoded) throw UsageError(name + ": not unpadded base64url");
  return *decoded;
}

// Janus's collect tool names (tools/src/bin/collect.rs VdafType).
VdafDescription vdaf_from_arguments(const Arguments& args) {
  const std::string name = args.required("--vdaf");
  if (name == "count") return {"Prio3Count", nlohmann::json::object()};
  if (name == "sum") return {"Prio3Sum", {{"bits", number(args, "--bits")}}};
  if (name == "sumvec") {
    return {"Prio3SumVec",
            {{"bits", number(args, "--bits")},
             {"length", number(args, "--length")},
             {"chunk_length", number(args, "--chunk-length")}}};
  }
  if (name == "histogram") {
    return {
        "Prio3Histogram",
        {{"length", number(args, "--length")}, {"chunk_length", number(args, "--chunk-length")}}};
  }
  // Janus's fpvec_bounded_l2 VDAF; the collector needs no dp_strategy to decode.
  if (name == "fixedpoint16bitboundedl2vecsum" || name == "fixedpoint32bitboundedl2vecsum") {
    return {"Prio3FixedPointBoundedL2VecSum",
            {{"bitsize", name == "fixedpoint16bitboundedl2vecsum" ? "BitSize16" : "BitSize32"},
             {"dp_strategy", {{"dp_strategy", "NoDifferentialPrivacy"}}},
             {"length", number(args, "--length")}}};
  }
  // Not in Janus's tool (its VDAFs all have an empty parameter), which Janus 0.7's leader
  // cannot run anyway.
  if (name == "poplar1") return {"Poplar1", {{"bits", number(args, "--bits")}}};
  throw UsageError(
      "--vdaf: expected count, sum, sumvec, histogram, fixedpoint16bitboundedl2vecsum, "
      "fixedpoint32bitboundedl2vecsum or poplar1, not '" +
      name + "'");
}

Query query_from_arguments(const Arguments& args) {
  const bool interval = args.option("--batch-interval-start").has_value();
  const bool batch_id = args.option("--batch-id").has_value();
  const bool current = args.flag("--current-batch");
  if (interval + batch_id + current != 1) {
    throw UsageError(
        "give exactly one of --batch-interval-start/--batch-interval-duration, --batch-id, "
        "--current-batch");
  }
  if (interval) {
    return Query::time_interval(
        {number(args, "--batch-interval-start"), number(args, "--batch-interval-duration")});
  }
  if (current) return Query::fixed_size(FixedSizeQuery::current_batch());
  auto id = BatchId::from_base64url(args.required("--batch-id"));
  if (!id) throw UsageError("--batch-id: expected 32 bytes of unpadded base64url");
  return Query::fixed_size(FixedSizeQuery::by_batch_id(*id));
}

// The encoded aggregation parameter: the VDAF reads the JSON of --aggregation-parameter (none
// is null: Prio3's empty parameter; Poplar1 needs one).
Bytes aggregation_parameter_from_arguments(const Arguments& args, const Vdaf& vdaf) {
  nlohmann::json parameter;
  if (auto text = args.option("--aggregation-parameter")) {
    parameter = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (parameter.is_discarded()) throw UsageError("--aggregation-parameter: not JSON");
  } else if (vdaf.requires_aggregation_parameter()) {
    throw UsageError("--aggregation-parameter: " + vdaf.description().name + " needs one");
  }
  try {
    return vdaf.aggregation_parameter_from_json(parameter);
  } catch (const VdafError& e) {
    throw UsageError(std::string("--aggregation-parameter: ") + e.what());
  }
}

}  // namespace

int collect(const std::vector<std::string>& args, const VdafRegistry& vdafs, std::ostream& out,
            std::ostream& err) {
  return run_command("collect", kCollectUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(
        args, {"--current-batch"},
        {"--task-id", "--leader", "--vdaf", "--bits", "--length", "--chunk-length",
         "--authorization-bearer-token", "--dap-auth-token", "--hpke-config", "--hpke-private-key",
         "--batch-interval-start", "--batch-interval-duration", "--batch-id",
         "--aggregation-parameter", "--poll-interval", "--timeout"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional.front() + "'");
    }
    auto task_id = TaskId::from_base64url(parsed.required("--task-id"));
    if (!task_id) throw UsageError("--task-id: expected 32 bytes of unpadded base64url");
    const std::string leader = with_trailing_slash(parsed.required("--leader"));
    const VdafDescription description = vdaf_from_arguments(parsed);
    const std::shared_ptr<const Vdaf> vdaf = vdafs.create(description);
    const Bytes aggregation_parameter = aggregation_parameter_from_arguments(parsed, *vdaf);

    HttpHeaders auth;
    auto bearer = parsed.option("--authorization-bearer-token");
    auto dap_auth = parsed.option("--dap-auth-token");
    if (bearer.has_value() == dap_auth.has_value()) {
      throw UsageError("give one of --authorization-bearer-token and --dap-auth-token");
    }
    if (bearer) auth.add("Authorization", "Bearer " + *bearer);
    if (dap_auth) auth.add("DAP-Auth-Token", *dap_auth);

    HpkeConfig config;
    try {
      config = decode_message<HpkeConfig>(base64url_option(parsed, "--hpke-config"));
    } catch (const DecodeError& e) {
      throw UsageError(std::string("--hpke-config: not an encoded HpkeConfig: ") + e.what());
    }
    const DapHpkeKeyPair collector_key =
        DapHpkeKeyPair::from_config(config, base64url_option(parsed, "--hpke-private-key"));

    const Query query = query_from_arguments(parsed);
    const auto poll_interval = std::chrono::seconds(
        parsed.option("--poll-interval") ? number(parsed, "--poll-interval") : 1);
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::seconds(parsed.option("--timeout") ? number(parsed, "--timeout") : 600);

    HttpClient client;
    const CollectorTask task{*task_id, leader, auth, collector_key, vdaf};
    const CollectionJob job{CollectionJobId::random(), query, aggregation_parameter};
    start_collection(client, task, job);
    std::optional<CollectionResult> collected;
    while (!(collected = poll_collection(client, task, job))) {
      if (std::chrono::steady_clock::now() + poll_interval > deadline) {
        throw std::runtime_error("the collection job was still pending at the timeout");
      }
      std::this_thread::sleep_for(poll_interval);
    }
    const nlohmann::json& result = collected->aggregate;

    out << "Number of reports: " << collected->report_count << "\n"
        << "Interval start: " << collected->interval.start << "\n"
        << "Interval duration: " << collected->interval.duration << "\n";
    if (collected->batch_id) out << "Batch ID: " << collected->batch_id->to_base64url() << "\n";
    out << "Aggregation result: " << result.dump() << std::endl;
    return 0;
  });
}

}  // namespace janus::cli
