// The aggregator's config section: Janus 0.7's own sample files parse (the keys this build
// does not implement are warnings), and mistakes are one-line errors naming the key.
#include <gtest/gtest.h>

#include <set>

#include "aggregator_config.h"

namespace janus::aggregator {
namespace {

// The sample file without the common keys, which the host reads itself, and the sections
// it runs as plugins of their own (host_config.cpp).
YAML::Node component_section(const std::string& file) {
  static const std::set<std::string> common = {"database",
                                               "health_check_listen_address",
                                               "logging_config",
                                               "metrics_config",
                                               "max_transaction_retries",
                                               "thread_pool_stack_size",
                                               "garbage_collection",
                                               "key_rotator"};
  YAML::Node root = load_yaml_file(file);
  YAML::Node section(YAML::NodeType::Map);
  for (const auto& item : root) {
    if (!common.contains(item.first.Scalar())) section.force_insert(item.first, item.second);
  }
  return section;
}

const std::string kSamples = JANUS_SHARED_DIR "/reference/janus-0.7-samples/";

TEST(AggregatorConfig, BasicSampleParses) {
  std::vector<std::string> warnings;
  const std::string file = kSamples + "basic_config/aggregator.yaml";
  AggregatorConfig config = parse_aggregator_config(
      component_section(file), file, [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(config.listen_address, "0.0.0.0:8080");
  EXPECT_EQ(config.max_upload_batch_size, 100u);
  EXPECT_EQ(config.max_upload_batch_write_delay, std::chrono::milliseconds(250));
  EXPECT_EQ(config.batch_aggregation_shard_count, 32u);
  EXPECT_EQ(config.task_counter_shard_count, 32u);
  EXPECT_EQ(config.global_hpke_configs_refresh_interval, std::chrono::milliseconds(1'800'000));
  EXPECT_EQ(config.task_cache_ttl, std::chrono::seconds(600));
  EXPECT_EQ(config.task_cache_capacity, 10'000u);
  EXPECT_FALSE(config.require_global_hpke_keys);
  EXPECT_TRUE(warnings.empty());
}

TEST(AggregatorConfig, AdvancedSampleParsesAndWarnsAboutUnimplementedKeys) {
  std::vector<std::string> warnings;
  const std::string file = kSamples + "advanced_config/aggregator.yaml";
  AggregatorConfig config = parse_aggregator_config(
      component_section(file), file, [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(config.listen_address, "0.0.0.0:8080");
  EXPECT_EQ(config.task_counter_shard_count, 32u);
  EXPECT_EQ(config.task_cache_capacity, 10'000u);
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  for (const char* key : {"log_forbidden_mutations"}) {
    EXPECT_NE(all.find(std::string("'") + key + "'"), std::string::npos) << key << "\n" << all;
  }
  // The sample's helper request queue is served.
  EXPECT_EQ(all.find("helper_aggregation_request_queue"), std::string::npos) << all;
  ASSERT_TRUE(config.helper_aggregation_request_queue);
  EXPECT_EQ(config.helper_aggregation_request_queue->concurrency, 1u);
  // So is its aggregator API.
  EXPECT_EQ(all.find("aggregator_api"), std::string::npos) << all;
  ASSERT_TRUE(config.aggregator_api);
  EXPECT_EQ(config.aggregator_api->listen_address, "0.0.0.0:8081");
  EXPECT_FALSE(config.aggregator_api->path_prefix);
  EXPECT_EQ(config.aggregator_api->public_dap_url, "https://dap.test");
  // taskprov_config.enabled is false in the sample: nothing to warn about.
  EXPECT_EQ(all.find("taskprov"), std::string::npos) << all;
}

AggregatorConfig parse(const std::string& yaml) {
  return parse_aggregator_config(YAML::Load(yaml), "agg.yaml", nullptr);
}

const std::string kRequired =
    "listen_address: 127.0.0.1:8080\nmax_upload_batch_size: 10\n"
    "max_upload_batch_write_delay_ms: 5\nbatch_aggregation_shard_count: 4\n";

TEST(AggregatorConfig, ComponentSectionsAreNotTheAggregatorsInANativeConfig) {
  try {
    parse(kRequired + "garbage_collection:\n  gc_frequency_s: 60\n");
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "agg.yaml:6: key 'garbage_collection': in a native host config, give it to a "
              "'garbage_collector' plugin entry instead");
  }
}

TEST(AggregatorConfig, OptionalKeysOverrideDefaults) {
  AggregatorConfig config =
      parse(kRequired +
            "task_counter_shard_count: 8\nglobal_hpke_configs_refresh_interval: 1000\n"
            "task_cache_ttl_s: 5\ntask_cache_capacity: 3\nrequire_global_hpke_keys: true\n"
            "max_future_concurrency: 10\ntaskprov_config: {enabled: true}\n");
  EXPECT_EQ(config.task_counter_shard_count, 8u);
  EXPECT_EQ(config.global_hpke_configs_refresh_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(config.task_cache_ttl, std::chrono::seconds(5));
  EXPECT_EQ(config.task_cache_capacity, 3u);
  EXPECT_TRUE(config.require_global_hpke_keys);
  EXPECT_TRUE(config.taskprov.enabled);
  EXPECT_FALSE(config.taskprov.ignore_unknown_differential_privacy_mechanism);
}

void expect_error(const std::string& yaml, const std::string& fragment) {
  try {
    parse(yaml);
    ADD_FAILURE() << "no error for:\n" << yaml;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("agg.yaml"), std::string::npos) << e.what();
  }
}

TEST(AggregatorConfig, HelperAggregationRequestQueue) {
  AggregatorConfig config = parse(kRequired +
                                  "helper_aggregation_request_queue:\n  concurrency: 3\n"
                                  "  depth: 20\n  timeout_ms: 1500\n");
  ASSERT_TRUE(config.helper_aggregation_request_queue);
  EXPECT_EQ(config.helper_aggregation_request_queue->concurrency, 3u);
  EXPECT_EQ(config.helper_aggregation_request_queue->depth, 20u);
  EXPECT_EQ(config.helper_aggregation_request_queue->timeout, std::chrono::milliseconds(1500));
  config = parse(kRequired + "helper_aggregation_request_queue: {concurrency: 1, depth: 0}\n");
  EXPECT_FALSE(config.helper_aggregation_request_queue->timeout);
  EXPECT_FALSE(parse(kRequired).helper_aggregation_request_queue);
  expect_error(kRequired + "helper_aggregation_request_queue: {concurrency: 0, depth: 1}\n",
               "helper_aggregation_request_queue.concurrency");
  expect_error(kRequired + "helper_aggregation_request_queue: {concurrency: 1}\n", "depth");
  expect_error(kRequired + "helper_aggregation_request_queue: {concurrency: 1, depth: 1, x: 2}\n",
               "x");
}

TEST(AggregatorConfig, AggregatorApiNeedsOneOfListenAddressAndPathPrefix) {
  AggregatorConfig config = parse(
      kRequired + "aggregator_api: {path_prefix: aggregator-api, public_dap_url: https://x/}\n");
  ASSERT_TRUE(config.aggregator_api);
  EXPECT_EQ(config.aggregator_api->path_prefix, "aggregator-api");
  expect_error(kRequired + "aggregator_api: {public_dap_url: https://x/}\n", "aggregator_api");
  expect_error(kRequired +
                   "aggregator_api: {path_prefix: a, listen_address: 'b:1', "
                   "public_dap_url: https://x/}\n",
               "exactly one");
  expect_error(kRequired + "aggregator_api: {path_prefix: a}\n", "public_dap_url");
}

TEST(AggregatorConfig, MistakesAreErrorsNamingTheKey) {
  expect_error("max_upload_batch_size: 10\n", "listen_address");
  expect_error("listen_address: a:1\nmax_upload_batch_size: 10\n",
               "max_upload_batch_write_delay_ms");
  expect_error(kRequired + "no_such_key: 1\n", "no_such_key");
  expect_error(kRequired + "task_counter_shard_count: 0\n", "task_counter_shard_count");
  expect_error(kRequired + "task_cache_ttl_s: -1\n", "task_cache_ttl_s");
  expect_error(kRequired + "taskprov_config: {enabled: false, bogus: 1}\n", "bogus");
  expect_error(
      "listen_address: a:1\nmax_upload_batch_size: 0\nmax_upload_batch_write_delay_ms: 5\n"
      "batch_aggregation_shard_count: 4\n",
      "max_upload_batch_size");
}

}  // namespace
}  // namespace janus::aggregator
