// A third-party plugin: includes only <janus/...> headers from the installed SDK.
#include <janus/config.h>
#include <janus/http.h>
#include <janus/plugin.h>

namespace {

class ExternalGreeter final : public janus::Plugin {
 public:
  void configure(janus::PluginContext& context) override {
    janus::ConfigMap config(context.config(), context.config_file());
    auto address = config.required<std::string>("listen_address");
    config.finish();
    context.routes().add_route(address, janus::HttpMethod::Get, "/greet/{who}",
                               [](const janus::HttpRequest& request) {
                                 return janus::HttpResponse::text(
                                     200, "external plugin greets " + *request.path_param("who"));
                               });
  }
};

}  // namespace

JANUS_PLUGIN(ExternalGreeter)
