#include "collector.h"

#include "janus/codec.h"

namespace janus::cli {
namespace {

std::string job_url(const CollectorTask& task, const CollectionJob& job) {
  return task.leader + "tasks/" + task.task_id.to_base64url() + "/collection_jobs/" +
         job.id.to_base64url();
}

std::string body_text(const HttpClientResponse& response) {
  return std::string(response.body.begin(), response.body.end());
}

}  // namespace

std::string with_trailing_slash(std::string url) {
  if (url.empty() || url.back() != '/') url += '/';
  return url;
}

void start_collection(const HttpClient& client, const CollectorTask& task,
                      const CollectionJob& job) {
  const std::string url = job_url(task, job);
  HttpHeaders headers = task.auth;
  headers.add("Content-Type", std::string(media_type::kCollectReq));
  const CollectionReq request{job.query, job.aggregation_parameter};
  HttpClientResponse created = client.send(HttpMethod::Put, url, headers, encode_message(request));
  if (created.status != 201 && created.status != 200) {
    throw std::runtime_error("PUT " + url + " answered " + std::to_string(created.status) + ": " +
                             body_text(created));
  }
}

std::optional<CollectionResult> poll_collection(const HttpClient& client, const CollectorTask& task,
                                                const CollectionJob& job) {
  const std::string url = job_url(task, job);
  HttpClientResponse polled = client.send(HttpMethod::Post, url, task.auth);
  if (polled.status == 202) return std::nullopt;
  if (polled.status != 200) {
    throw std::runtime_error("POST " + url + " answered " + std::to_string(polled.status) + ": " +
                             body_text(polled));
  }
  const Collection collection = decode_message<Collection>(polled.body);
  const BatchSelector selector =
      job.query.type == QueryType::TimeInterval
          ? BatchSelector::time_interval(job.query.batch_interval)
          : BatchSelector::fixed_size(collection.partial_batch_selector.batch_id);
  const Bytes aad =
      encode_message(AggregateShareAad{task.task_id, job.aggregation_parameter, selector});
  std::vector<Bytes> shares;
  shares.push_back(dap_open(task.hpke_key, collection.leader_encrypted_aggregate_share,
                            dap_aggregate_share_info(Role::Leader), aad));
  shares.push_back(dap_open(task.hpke_key, collection.helper_encrypted_aggregate_share,
                            dap_aggregate_share_info(Role::Helper), aad));
  CollectionResult result;
  result.report_count = collection.report_count;
  result.interval = collection.interval;
  if (job.query.type == QueryType::FixedSize) {
    result.batch_id = collection.partial_batch_selector.batch_id;
  }
  result.aggregate = task.vdaf->unshard(job.aggregation_parameter, shares, collection.report_count);
  return result;
}

}  // namespace janus::cli
