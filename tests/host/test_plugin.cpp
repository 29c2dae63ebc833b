// A small component plugin for the host's integration tests: one HTTP route
// family on its own listener and one periodic worker, configured from YAML
// with unknown keys rejected, exactly as real plugins are.
#include <atomic>
#include <chrono>
#include <thread>

#include <janus/config.h>
#include <janus/http.h>
#include <janus/ids.h>
#include <janus/ping_pong.h>
#include <janus/plugin.h>
#include <janus/vdaf.h>
#include <janus/worker.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace {

// Runs every measurement through shard → ping-pong preparation between a
// leader and a helper (any number of rounds) → aggregation → unshard, with a
// VDAF made by whichever plugin registered `description.name`.
nlohmann::json aggregate_measurements(const janus::Vdaf& vdaf, const nlohmann::json& measurements) {
  janus::Bytes verify_key(vdaf.verify_key_size());
  janus::random_bytes(verify_key);
  const janus::Bytes agg_param;
  std::vector<janus::Bytes> aggregate_shares(2, vdaf.empty_aggregate_share(agg_param));
  for (const auto& measurement : measurements) {
    janus::Bytes nonce(vdaf.nonce_size());
    janus::random_bytes(nonce);
    auto shards = vdaf.shard(measurement, nonce);
    auto leader = janus::ping_pong_leader_initialized(vdaf, verify_key, agg_param, nonce,
                                                      shards.public_share, shards.input_shares[0]);
    auto helper =
        janus::ping_pong_helper_initialized(vdaf, verify_key, agg_param, nonce, shards.public_share,
                                            shards.input_shares[1], *leader.outbound);
    bool leader_to_move = true;
    for (int step = 0; !(leader.state.finished() && helper.state.finished()); ++step) {
      if (step > 64) throw std::runtime_error("ping-pong did not finish");
      if (leader_to_move) {
        if (!helper.outbound) throw std::runtime_error("helper has nothing to send");
        leader = janus::ping_pong_leader_continued(vdaf, agg_param, leader.state, *helper.outbound);
      } else {
        if (!leader.outbound) throw std::runtime_error("leader has nothing to send");
        helper = janus::ping_pong_helper_continued(vdaf, agg_param, helper.state, *leader.outbound);
      }
      leader_to_move = !leader_to_move;
    }
    vdaf.accumulate(aggregate_shares[0], agg_param, leader.state.output_share);
    vdaf.accumulate(aggregate_shares[1], agg_param, helper.state.output_share);
  }
  return vdaf.unshard(agg_param, aggregate_shares, measurements.size());
}

class HostTestPlugin final : public janus::Plugin {
 public:
  void configure(janus::PluginContext& context) override {
    janus::ConfigMap config(context.config(), context.config_file());
    const auto listen_address = config.required<std::string>("listen_address");
    greeting_ = config.get<std::string>("greeting", "hello");
    // Lets several instances share one listener with distinct routes.
    const auto prefix = config.get<std::string>("route_prefix", "");
    const auto interval_ms = config.get<std::uint64_t>("worker_interval_ms", 100);
    config.finish();
    logger_ = context.logger();
    name_ = context.instance_name();

    auto& routes = context.routes();
    routes.add_route(listen_address, janus::HttpMethod::Get, prefix + "/hello/{name}",
                     [this](const janus::HttpRequest& request) {
                       return janus::HttpResponse::text(
                           200, greeting_ + " " + *request.path_param("name"));
                     });
    routes.add_route(listen_address, janus::HttpMethod::Get, prefix + "/worker/passes",
                     [this](const janus::HttpRequest&) {
                       return janus::HttpResponse::text(200, std::to_string(passes_.load()));
                     });
    // Whether the host handed this plugin a datastore (a `database` section).
    janus::Datastore* datastore = context.datastore();
    routes.add_route(listen_address, janus::HttpMethod::Get, prefix + "/datastore",
                     [datastore](const janus::HttpRequest&) {
                       return janus::HttpResponse::text(200, datastore ? "connected" : "none");
                     });
    // POST {"vdaf": {"name": …, "parameters": {…}}, "measurements": [...]}:
    // the aggregate result, computed with a VDAF from the host's registry.
    janus::VdafRegistry* vdafs = &context.vdafs();
    routes.add_route(listen_address, janus::HttpMethod::Post, prefix + "/vdaf/aggregate",
                     [vdafs](const janus::HttpRequest& request) {
                       try {
                         auto body =
                             nlohmann::json::parse(request.body.begin(), request.body.end());
                         janus::VdafDescription description{
                             body.at("vdaf").at("name").get<std::string>(),
                             body.at("vdaf").value("parameters", nlohmann::json::object())};
                         auto vdaf = vdafs->create(description);
                         return janus::HttpResponse::text(
                             200, aggregate_measurements(*vdaf, body.at("measurements")).dump());
                       } catch (const std::exception& e) {
                         return janus::HttpResponse::text(400, e.what());
                       }
                     });
    routes.add_route(listen_address, janus::HttpMethod::Get, prefix + "/slow",
                     [this](const janus::HttpRequest& request) {
                       auto ms = std::stoul(request.query_param("ms").value_or("100"));
                       ++slow_in_flight_;
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       --slow_in_flight_;
                       return janus::HttpResponse::text(200, "slow done");
                     });
    // Lets a test signal the process only once a slow request is being served.
    routes.add_route(listen_address, janus::HttpMethod::Get, prefix + "/slow/in-flight",
                     [this](const janus::HttpRequest&) {
                       return janus::HttpResponse::text(200, std::to_string(slow_in_flight_));
                     });
    context.workers().add_periodic(
        {"host_test.ticker", std::chrono::milliseconds(interval_ms), std::chrono::milliseconds(5)},
        [this] {
          auto pass = ++passes_;
          logger_->debug("worker pass {}", pass);
        },
        logger_);
  }

  void start() override { logger_->info("plugin {} started", name_); }
  void stop() override {
    logger_->info("plugin {} stopping after {} worker passes", name_, passes_.load());
  }

 private:
  std::string name_;
  std::string greeting_;
  std::shared_ptr<spdlog::logger> logger_;
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<int> slow_in_flight_{0};
};

}  // namespace

JANUS_PLUGIN(HostTestPlugin)
