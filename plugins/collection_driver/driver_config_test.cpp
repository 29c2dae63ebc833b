#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include "driver_config.h"

namespace janus::collection_driver {
namespace {

const char* kRequired =
    "job_discovery_interval_s: 10\n"
    "max_concurrent_job_workers: 3\n"
    "worker_lease_duration_s: 600\n"
    "worker_lease_clock_skew_allowance_s: 60\n"
    "maximum_attempts_before_failure: 10\n"
    "batch_aggregation_shard_count: 32\n";

CollectionDriverConfig parse(const std::string& text) {
  return parse_collection_driver_config(YAML::Load(text), "driver.yaml");
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DriverConfig, RequiredKeysAndJanusDefaults) {
  CollectionDriverConfig config = parse(kRequired);
  EXPECT_EQ(config.job_discovery_interval, std::chrono::seconds(10));
  EXPECT_EQ(config.max_concurrent_job_workers, 3u);
  EXPECT_EQ(config.worker_lease_duration, std::chrono::seconds(600));
  EXPECT_EQ(config.worker_lease_clock_skew_allowance, std::chrono::seconds(60));
  EXPECT_EQ(config.maximum_attempts_before_failure, 10u);
  EXPECT_EQ(config.batch_aggregation_shard_count, 32u);
  EXPECT_EQ(config.min_collection_job_retry_delay, std::chrono::seconds(600));
  EXPECT_EQ(config.max_collection_job_retry_delay, std::chrono::seconds(3600));
  EXPECT_DOUBLE_EQ(config.collection_job_retry_delay_exponential_factor, 1.25);
  EXPECT_EQ(config.http_request_connection_timeout, std::chrono::seconds(10));
  EXPECT_EQ(config.http_request_timeout, std::chrono::seconds(30));
  EXPECT_EQ(config.retry_initial_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(config.retry_max_interval, std::chrono::milliseconds(30000));
  EXPECT_EQ(config.retry_max_elapsed_time, std::chrono::milliseconds(300000));
}

TEST(DriverConfig, OptionalKeys) {
  CollectionDriverConfig config = parse(std::string(kRequired) +
                                        "min_collection_job_retry_delay_s: 5\n"
                                        "max_collection_job_retry_delay_s: 50\n"
                                        "collection_job_retry_delay_exponential_factor: 2.5\n"
                                        "http_request_timeout_s: 7\n"
                                        "retry_max_elapsed_time_ms: 1234\n"
                                        "max_future_concurrency: 5\n");
  EXPECT_EQ(config.min_collection_job_retry_delay, std::chrono::seconds(5));
  EXPECT_EQ(config.max_collection_job_retry_delay, std::chrono::seconds(50));
  EXPECT_DOUBLE_EQ(config.collection_job_retry_delay_exponential_factor, 2.5);
  EXPECT_EQ(config.http_request_timeout, std::chrono::seconds(7));
  EXPECT_EQ(config.retry_max_elapsed_time, std::chrono::milliseconds(1234));
}

TEST(DriverConfig, BadConfigsNameFileAndKey) {
  EXPECT_NE(error_of("job_discovery_interval_s: 10\n").find("missing required key"),
            std::string::npos);
  std::string unknown = error_of(std::string(kRequired) + "no_such_key: 1\n");
  EXPECT_NE(unknown.find("driver.yaml"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("no_such_key"), std::string::npos) << unknown;
  std::string factor =
      error_of(std::string(kRequired) + "collection_job_retry_delay_exponential_factor: 0.5\n");
  EXPECT_NE(factor.find("collection_job_retry_delay_exponential_factor"), std::string::npos);
  std::string order = error_of(std::string(kRequired) +
                               "min_collection_job_retry_delay_s: 60\n"
                               "max_collection_job_retry_delay_s: 10\n");
  EXPECT_NE(order.find("max_collection_job_retry_delay_s"), std::string::npos) << order;
  EXPECT_NE(error_of(std::string(kRequired) + "http_request_timeout_s: nope\n")
                .find("http_request_timeout_s"),
            std::string::npos);
  std::string skew = error_of(
      "job_discovery_interval_s: 10\nmax_concurrent_job_workers: 3\nworker_lease_duration_s: 60\n"
      "worker_lease_clock_skew_allowance_s: 60\nmaximum_attempts_before_failure: 10\n"
      "batch_aggregation_shard_count: 32\n");
  EXPECT_NE(skew.find("worker_lease_clock_skew_allowance_s"), std::string::npos) << skew;
}

}  // namespace
}  // namespace janus::collection_driver
