// A small component plugin for the host's integration tests: one HTTP route
// family on its own listener and one periodic worker, configured from YAML
// with unknown keys rejected, exactly as real plugins are.
#include <atomic>
#include <chrono>
#include <thread>

#include <janus/config.h>
#include <janus/http.h>
#include <janus/plugin.h>
#include <janus/worker.h>
#include <spdlog/spdlog.h>

namespace {

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
    routes.add_route(listen_address, janus::HttpMethod::Get, prefix + "/slow",
                     [](const janus::HttpRequest& request) {
                       auto ms = std::stoul(request.query_param("ms").value_or("100"));
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       return janus::HttpResponse::text(200, "slow done");
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
};

}  // namespace

JANUS_PLUGIN(HostTestPlugin)
