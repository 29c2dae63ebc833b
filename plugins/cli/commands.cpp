#include "commands.h"

#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>

#include "cli_arguments.h"
#include "janus/codec.h"
#include "janus/config.h"
#include "janus/hpke.h"
#include "janus/messages.h"
#include "provisioning.h"
#include "tasks_file.h"

namespace janus::cli {
namespace {

Datastore& need_datastore(Datastore* datastore) {
  if (!datastore) {
    throw UsageError(
        "a database is needed: give --config-file FILE (a config with a 'database' section)");
  }
  return *datastore;
}

std::uint8_t parse_config_id(const std::string& text) {
  std::size_t used = 0;
  unsigned long value = 0;
  try {
    if (text.empty() || text[0] == '-' || text[0] == '+') throw std::invalid_argument(text);
    value = std::stoul(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || used == 0 || value > 255) {
    throw UsageError("--id: expected an HPKE config id from 0 to 255, not '" + text + "'");
  }
  return static_cast<std::uint8_t>(value);
}

// Janus's clap names (core/src/cli.rs KemAlgorithm, KdfAlgorithm, AeadAlgorithm).
HpkeKemId parse_kem(const std::string& name) {
  if (name == "x25519") return HpkeKemId::X25519HkdfSha256;
  if (name == "p-256") return HpkeKemId::P256HkdfSha256;
  throw UsageError("--kem: expected x25519 or p-256, not '" + name + "'");
}
HpkeKdfId parse_kdf(const std::string& name) {
  if (name == "hkdf-sha256") return HpkeKdfId::HkdfSha256;
  if (name == "hkdf-sha384") return HpkeKdfId::HkdfSha384;
  if (name == "hkdf-sha512") return HpkeKdfId::HkdfSha512;
  throw UsageError("--kdf: expected hkdf-sha256, hkdf-sha384 or hkdf-sha512, not '" + name + "'");
}
HpkeAeadId parse_aead(const std::string& name) {
  if (name == "aes-128-gcm") return HpkeAeadId::Aes128Gcm;
  if (name == "aes-256-gcm") return HpkeAeadId::Aes256Gcm;
  if (name == "chacha20poly1305") return HpkeAeadId::ChaCha20Poly1305;
  throw UsageError("--aead: expected aes-128-gcm, aes-256-gcm or chacha20poly1305, not '" + name +
                   "'");
}
HpkeKeyState parse_state(const std::string& name) {
  if (name == "active") return HpkeKeyState::Active;
  if (name == "pending") return HpkeKeyState::Pending;
  if (name == "expired") return HpkeKeyState::Expired;
  throw UsageError("--state: expected active, pending or expired, not '" + name + "'");
}

const char kProvisionUsage[] =
    "Usage: janus_cli provision-tasks TASKS_FILE [--generate-missing-parameters] [--echo-tasks]\n"
    "                                 [--dry-run] --config-file FILE\n\n"
    "Writes every task of TASKS_FILE (Janus's tasks.yaml format) in one transaction; a task\n"
    "whose id already exists is replaced.\n\n"
    "  --generate-missing-parameters  fill a missing task_id, vdaf_verify_key, helper\n"
    "                                 aggregator_auth_token and HPKE keypair with random values\n"
    "  --echo-tasks                   print the written tasks as YAML (secrets included)\n"
    "  --dry-run                      check, list the tasks (without secrets; all of it with\n"
    "                                 --echo-tasks), but write nothing\n";

const char kGenerateUsage[] =
    "Usage: janus_cli generate-global-hpke-key --id ID --kem KEM --kdf KDF --aead AEAD\n"
    "                                          [--hpke-config-out-file FILE] [--dry-run]\n"
    "                                          --config-file FILE\n\n"
    "Generates a global HPKE keypair and stores it in state pending.\n\n"
    "  --id ID                       HPKE config id, 0..255\n"
    "  --kem KEM                     x25519 | p-256\n"
    "  --kdf KDF                     hkdf-sha256 | hkdf-sha384 | hkdf-sha512\n"
    "  --aead AEAD                   aes-128-gcm | aes-256-gcm | chacha20poly1305\n"
    "  --hpke-config-out-file FILE   also write the encoded HpkeConfig (DAP wire format) there\n"
    "  --dry-run                     generate, but store nothing\n";

const char kSetStateUsage[] =
    "Usage: janus_cli set-global-hpke-key-state --id ID --state STATE [--dry-run]\n"
    "                                           --config-file FILE\n\n"
    "Sets the state of a global HPKE keypair.\n\n"
    "  --id ID         HPKE config id, 0..255\n"
    "  --state STATE   active | pending | expired\n"
    "  --dry-run       check the arguments, change nothing\n";

}  // namespace

int provision_tasks(const std::vector<std::string>& args, Datastore* datastore,
                    const VdafRegistry& vdafs, std::ostream& out, std::ostream& err) {
  return run_command("provision-tasks", kProvisionUsage, args, out, err, [&] {
    Arguments parsed =
        parse_arguments(args, {"--generate-missing-parameters", "--echo-tasks", "--dry-run"}, {});
    if (parsed.positional.size() != 1) {
      throw UsageError(parsed.positional.empty() ? "missing TASKS_FILE"
                                                 : "expected one TASKS_FILE, got " +
                                                       std::to_string(parsed.positional.size()));
    }
    const bool dry_run = parsed.flag("--dry-run");
    Datastore* store = dry_run ? datastore : &need_datastore(datastore);
    TasksFileOptions options;
    options.generate_missing_parameters = parsed.flag("--generate-missing-parameters");
    std::vector<ProvisionedTask> tasks = load_tasks_file(parsed.positional[0], vdafs, options);

    if (!dry_run) {
      std::vector<AggregatorTask> to_write;
      for (const auto& provisioned : tasks) to_write.push_back(provisioned.task);
      std::vector<AggregatorTask> written = replace_tasks(*store, to_write, "provision-tasks");
      for (std::size_t i = 0; i < tasks.size(); ++i) tasks[i].task = std::move(written[i]);
    }
    if (parsed.flag("--echo-tasks")) {
      out << tasks_to_yaml(tasks);
    } else if (dry_run) {
      // What would be written, without secrets (--echo-tasks prints everything).
      for (const auto& provisioned : tasks) out << task_summary(provisioned.task) << "\n";
    }
    err << "janus_cli provision-tasks: " << (dry_run ? "dry run, would have written " : "wrote ")
        << tasks.size() << " task(s) from " << parsed.positional[0] << std::endl;
    return 0;
  });
}

int generate_global_hpke_key(const std::vector<std::string>& args, Datastore* datastore,
                             std::ostream& out, std::ostream& err) {
  return run_command("generate-global-hpke-key", kGenerateUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(
        args, {"--dry-run"}, {"--id", "--kem", "--kdf", "--aead", "--hpke-config-out-file"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional[0] + "'");
    }
    const std::uint8_t id = parse_config_id(parsed.required("--id"));
    const HpkeSuite suite{parse_kem(parsed.required("--kem")), parse_kdf(parsed.required("--kdf")),
                          parse_aead(parsed.required("--aead"))};
    const bool dry_run = parsed.flag("--dry-run");
    if (!dry_run) need_datastore(datastore);

    DapHpkeKeyPair key_pair = DapHpkeKeyPair::generate(id, suite);
    const Bytes encoded_config = encode_message(key_pair.config);
    if (!dry_run) {
      datastore->run_tx("generate-global-hpke-key", [&](Transaction& tx) {
        tx.put_global_hpke_keypair({id, encoded_config, key_pair.key_pair.private_key()});
      });
    }
    if (auto path = parsed.option("--hpke-config-out-file")) {
      std::ofstream file(*path, std::ios::binary | std::ios::trunc);
      file.write(reinterpret_cast<const char*>(encoded_config.data()),
                 static_cast<std::streamsize>(encoded_config.size()));
      file.close();
      if (!file) throw std::runtime_error("cannot write --hpke-config-out-file " + *path);
    }
    err << "janus_cli generate-global-hpke-key: "
        << (dry_run ? "dry run, generated but did not store" : "stored") << " global HPKE key "
        << static_cast<unsigned>(id) << " (" << hpke_kem_id_name(suite.kem) << ", "
        << hpke_kdf_id_name(suite.kdf) << ", " << hpke_aead_id_name(suite.aead)
        << (dry_run ? ")" : "), state pending") << std::endl;
    return 0;
  });
}

int set_global_hpke_key_state(const std::vector<std::string>& args, Datastore* datastore,
                              std::ostream& out, std::ostream& err) {
  return run_command("set-global-hpke-key-state", kSetStateUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(args, {"--dry-run"}, {"--id", "--state"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional[0] + "'");
    }
    const std::uint8_t id = parse_config_id(parsed.required("--id"));
    const HpkeKeyState state = parse_state(parsed.required("--state"));
    const bool dry_run = parsed.flag("--dry-run");
    if (!dry_run) {
      need_datastore(datastore).run_tx("set-global-hpke-key-state", [&](Transaction& tx) {
        tx.set_global_hpke_keypair_state(id, state);
      });
    }
    err << "janus_cli set-global-hpke-key-state: " << (dry_run ? "dry run, did not set" : "set")
        << " global HPKE key " << static_cast<unsigned>(id) << " to " << parsed.required("--state")
        << std::endl;
    return 0;
  });
}

}  // namespace janus::cli
