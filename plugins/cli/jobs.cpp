// janus_cli list-aggregation-jobs, list-collection-jobs (Janus's --task/--job flags; a
// table, or --json) and create-datastore-key.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_arguments.h"
#include "commands.h"
#include "janus/datastore/keys.h"

namespace janus::cli {
namespace {

const char kListAggregationUsage[] =
    "Usage: janus_cli list-aggregation-jobs --task TASK_ID [--job JOB_ID] [--json]\n"
    "                                       --config-file FILE\n\n"
    "Lists a task's aggregation jobs with their leases, oldest first.\n\n"
    "  --task TASK_ID   the task (unpadded base64url)\n"
    "  --job JOB_ID     only this aggregation job\n"
    "  --json           one JSON array instead of a table\n";

const char kListCollectionUsage[] =
    "Usage: janus_cli list-collection-jobs --task TASK_ID [--job JOB_ID] [--json]\n"
    "                                      --config-file FILE\n\n"
    "Lists a task's collection jobs with their leases, oldest first.\n\n"
    "  --task TASK_ID   the task (unpadded base64url)\n"
    "  --job JOB_ID     only this collection job\n"
    "  --json           one JSON array instead of a table\n";

const char kCreateKeyUsage[] =
    "Usage: janus_cli create-datastore-key [--out-file FILE] [--dry-run]\n\n"
    "Generates a datastore key (16 random bytes, unpadded base64url: one entry of\n"
    "DATASTORE_KEYS) and prints it, or writes it to FILE (created with mode 0600; an existing\n"
    "file is never overwritten, as Janus never overwrites an existing Kubernetes secret).\n"
    "Needs no database and no --config-file.\n\n"
    "  --out-file FILE   write the key there instead of printing it\n"
    "  --dry-run         generate, but neither print nor write it\n";

Datastore& need_database(Datastore* datastore) {
  if (!datastore) {
    throw UsageError(
        "a database is needed: give --config-file FILE (a config with a 'database' section)");
  }
  return *datastore;
}

template <typename Id>
Id parse_id(const Arguments& parsed, const std::string& option) {
  const std::string text = parsed.required(option);
  auto id = Id::from_base64url(text);
  if (!id) throw UsageError(option + ": expected an unpadded base64url id, not '" + text + "'");
  return *id;
}

template <typename Id>
std::optional<Id> optional_id(const Arguments& parsed, const std::string& option) {
  if (!parsed.option(option)) return std::nullopt;
  return parse_id<Id>(parsed, option);
}

std::string time_text(Time time) {
  const std::time_t t = static_cast<std::time_t>(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

std::string interval_text(const Interval& interval) {
  return time_text(interval.start) + "+" + std::to_string(interval.duration) + "s";
}

nlohmann::json interval_json(const Interval& interval) {
  return {{"start", interval.start}, {"duration", interval.duration}};
}

std::string bytes_text(const Bytes& bytes) { return bytes.empty() ? "" : base64url_encode(bytes); }

const char* state_name(AggregationJobState state) {
  switch (state) {
    case AggregationJobState::InProgress:
      return "InProgress";
    case AggregationJobState::Finished:
      return "Finished";
    case AggregationJobState::Abandoned:
      return "Abandoned";
    case AggregationJobState::Deleted:
      return "Deleted";
  }
  return "?";
}

const char* state_name(CollectionJobState state) {
  switch (state) {
    case CollectionJobState::Start:
      return "Start";
    case CollectionJobState::Finished:
      return "Finished";
    case CollectionJobState::Abandoned:
      return "Abandoned";
    case CollectionJobState::Deleted:
      return "Deleted";
  }
  return "?";
}

std::string lease_text(const Transaction::JobLeaseState& lease) {
  return lease.expiry == 0 ? "-" : time_text(lease.expiry);
}

nlohmann::json lease_json(const Transaction::JobLeaseState& lease) {
  return {{"expiry", lease.expiry == 0 ? nlohmann::json(nullptr) : nlohmann::json(lease.expiry)},
          {"attempts", lease.attempts}};
}

// Columns padded to their widest cell.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

void need_task(Transaction& tx, const TaskId& task_id) {
  if (!tx.get_aggregator_task(task_id)) {
    throw std::runtime_error("no task " + task_id.to_base64url());
  }
}

template <typename Id>
Transaction::JobLeaseState lease_of(
    const std::vector<std::pair<Id, Transaction::JobLeaseState>>& leases, const Id& id) {
  for (const auto& [job_id, lease] : leases) {
    if (job_id == id) return lease;
  }
  return {};
}

}  // namespace

int list_aggregation_jobs(const std::vector<std::string>& args, Datastore* datastore,
                          std::ostream& out, std::ostream& err) {
  return run_command("list-aggregation-jobs", kListAggregationUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(args, {"--json"}, {"--task", "--job"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional[0] + "'");
    }
    const TaskId task_id = parse_id<TaskId>(parsed, "--task");
    const auto job_id = optional_id<AggregationJobId>(parsed, "--job");
    Datastore& store = need_database(datastore);
    struct Listed {
      std::vector<AggregationJob> jobs;
      std::vector<std::pair<AggregationJobId, Transaction::JobLeaseState>> leases;
    };
    Listed listed = store.run_tx("janus-cli-list-aggregation-jobs", [&](Transaction& tx) {
      need_task(tx, task_id);
      Listed result;
      if (job_id) {
        auto job = tx.get_aggregation_job(task_id, *job_id);
        if (!job) {
          throw std::runtime_error("no aggregation job " + job_id->to_base64url() + " in task " +
                                   task_id.to_base64url());
        }
        result.jobs.push_back(std::move(*job));
      } else {
        result.jobs = tx.get_aggregation_jobs_for_task(task_id);
      }
      result.leases = tx.get_aggregation_job_leases_for_task(task_id);
      return result;
    });

    if (parsed.flag("--json")) {
      nlohmann::json array = nlohmann::json::array();
      for (const AggregationJob& job : listed.jobs) {
        array.push_back({
            {"task_id", task_id.to_base64url()},
            {"aggregation_job_id", job.aggregation_job_id.to_base64url()},
            {"state", state_name(job.state)},
            {"step", job.step},
            {"aggregation_parameter", bytes_text(job.aggregation_parameter)},
            {"batch_id",
             job.batch_id ? nlohmann::json(job.batch_id->to_base64url()) : nlohmann::json(nullptr)},
            {"client_timestamp_interval", interval_json(job.client_timestamp_interval)},
            {"lease", lease_json(lease_of(listed.leases, job.aggregation_job_id))},
        });
      }
      out << array.dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {{"AGGREGATION JOB", "STATE", "STEP",
                                                   "CLIENT TIMESTAMPS", "BATCH ID", "LEASE EXPIRY",
                                                   "LEASE ATTEMPTS"}};
    for (const AggregationJob& job : listed.jobs) {
      const auto lease = lease_of(listed.leases, job.aggregation_job_id);
      rows.push_back({job.aggregation_job_id.to_base64url(), state_name(job.state),
                      std::to_string(job.step), interval_text(job.client_timestamp_interval),
                      job.batch_id ? job.batch_id->to_base64url() : "-", lease_text(lease),
                      std::to_string(lease.attempts)});
    }
    print_table(out, rows);
    err << "janus_cli list-aggregation-jobs: " << listed.jobs.size() << " job(s)" << std::endl;
    return 0;
  });
}

int list_collection_jobs(const std::vector<std::string>& args, Datastore* datastore,
                         std::ostream& out, std::ostream& err) {
  return run_command("list-collection-jobs", kListCollectionUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(args, {"--json"}, {"--task", "--job"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional[0] + "'");
    }
    const TaskId task_id = parse_id<TaskId>(parsed, "--task");
    const auto job_id = optional_id<CollectionJobId>(parsed, "--job");
    Datastore& store = need_database(datastore);
    struct Listed {
      std::vector<CollectionJob> jobs;
      std::vector<std::pair<CollectionJobId, Transaction::JobLeaseState>> leases;
    };
    Listed listed = store.run_tx("janus-cli-list-collection-jobs", [&](Transaction& tx) {
      need_task(tx, task_id);
      Listed result;
      if (job_id) {
        auto job = tx.get_collection_job(task_id, *job_id);
        if (!job) {
          throw std::runtime_error("no collection job " + job_id->to_base64url() + " in task " +
                                   task_id.to_base64url());
        }
        result.jobs.push_back(std::move(*job));
      } else {
        result.jobs = tx.get_collection_jobs_for_task(task_id);
      }
      result.leases = tx.get_collection_job_leases_for_task(task_id);
      return result;
    });

    auto batch_text = [](const BatchIdentifier& batch) {
      if (const Interval* interval = std::get_if<Interval>(&batch)) return interval_text(*interval);
      return std::get<BatchId>(batch).to_base64url();
    };
    if (parsed.flag("--json")) {
      nlohmann::json array = nlohmann::json::array();
      for (const CollectionJob& job : listed.jobs) {
        nlohmann::json batch;
        if (const Interval* interval = std::get_if<Interval>(&job.batch_identifier)) {
          batch = {{"interval", interval_json(*interval)}};
        } else {
          batch = {{"batch_id", std::get<BatchId>(job.batch_identifier).to_base64url()}};
        }
        array.push_back({
            {"task_id", task_id.to_base64url()},
            {"collection_job_id", job.collection_job_id.to_base64url()},
            {"state", state_name(job.state)},
            {"query", base64url_encode(job.query)},
            {"aggregation_parameter", bytes_text(job.aggregation_parameter)},
            {"batch_identifier", batch},
            {"report_count",
             job.report_count ? nlohmann::json(*job.report_count) : nlohmann::json(nullptr)},
            {"client_timestamp_interval", job.client_timestamp_interval
                                              ? interval_json(*job.client_timestamp_interval)
                                              : nlohmann::json(nullptr)},
            {"lease", lease_json(lease_of(listed.leases, job.collection_job_id))},
        });
      }
      out << array.dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"COLLECTION JOB", "STATE", "BATCH", "REPORTS", "LEASE EXPIRY", "LEASE ATTEMPTS"}};
    for (const CollectionJob& job : listed.jobs) {
      const auto lease = lease_of(listed.leases, job.collection_job_id);
      rows.push_back({job.collection_job_id.to_base64url(), state_name(job.state),
                      batch_text(job.batch_identifier),
                      job.report_count ? std::to_string(*job.report_count) : "-", lease_text(lease),
                      std::to_string(lease.attempts)});
    }
    print_table(out, rows);
    err << "janus_cli list-collection-jobs: " << listed.jobs.size() << " job(s)" << std::endl;
    return 0;
  });
}

int create_datastore_key(const std::vector<std::string>& args, std::ostream& out,
                         std::ostream& err) {
  return run_command("create-datastore-key", kCreateKeyUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(args, {"--dry-run"}, {"--out-file"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional[0] + "'");
    }
    const auto key = DatastoreKeys::generate_key();
    const std::string encoded = base64url_encode(ByteSpan(key.data(), key.size()));
    if (parsed.flag("--dry-run")) {
      err << "janus_cli create-datastore-key: dry run, generated a key but printed and wrote "
             "nothing"
          << std::endl;
      return 0;
    }
    const auto path = parsed.option("--out-file");
    if (!path) {
      out << encoded << "\n";
      return 0;
    }
    const int fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw std::runtime_error("cannot create --out-file " + *path + ": " + std::strerror(errno));
    }
    const std::string line = encoded + "\n";
    const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    const bool closed = ::close(fd) == 0;
    if (!written || !closed) throw std::runtime_error("cannot write --out-file " + *path);
    err << "janus_cli create-datastore-key: wrote a new datastore key to " << *path
        << " (add it to DATASTORE_KEYS: first to encrypt with it, later to only decrypt)"
        << std::endl;
    return 0;
  });
}

}  // namespace janus::cli
