// janus_cli rotate-datastore-keys: online datastore-key rotation, which Janus lacks (it
// decrypts with any listed key but never re-encrypts, so an old key can never be dropped).
// The operator puts the new key first in DATASTORE_KEYS everywhere (every component then
// encrypts new secrets with it and still reads the old ones), runs this, and can then drop
// the old key. Each batch is its own transaction over rows it locks, so the aggregators keep
// serving; a value already under the first key is skipped, so a run that stopped (a crash,
// Ctrl-C) is simply run again.
#include <iostream>
#include <limits>

#include "cli_arguments.h"
#include "commands.h"

namespace janus::cli {
namespace {

const std::string kRotateUsage =
    "Usage: janus_cli rotate-datastore-keys --config-file FILE [--batch-size N]\n"
    "\n"
    "Re-encrypts every secret in the datastore (task VDAF verify keys and aggregator tokens,\n"
    "task and global HPKE private keys) under the FIRST key of DATASTORE_KEYS, in batches of N\n"
    "rows (default 100), while the aggregators run. Safe to interrupt and run again.\n"
    "\n"
    "  1. Put the new key first in DATASTORE_KEYS (keep the old ones after it) for every\n"
    "     component and restart them.\n"
    "  2. Run this with the same DATASTORE_KEYS.\n"
    "  3. Drop the old keys from DATASTORE_KEYS and restart the components.\n";

}  // namespace

int rotate_datastore_keys(const std::vector<std::string>& args, Datastore* datastore,
                          std::ostream& out, std::ostream& err) {
  return run_command("rotate-datastore-keys", kRotateUsage, args, out, err, [&] {
    Arguments parsed = parse_arguments(args, {}, {"--batch-size"});
    if (!parsed.positional.empty()) {
      throw UsageError("unexpected argument '" + parsed.positional[0] + "'");
    }
    std::uint64_t batch_size = 100;
    if (auto text = parsed.option("--batch-size")) {
      try {
        std::size_t used = 0;
        batch_size = std::stoull(*text, &used);
        if (used != text->size() || batch_size == 0 || batch_size > 100'000) throw 0;
      } catch (...) {
        throw UsageError("--batch-size must be a number from 1 to 100000");
      }
    }
    if (!datastore) {
      throw UsageError(
          "a database is needed: give --config-file FILE (a config with a 'database' section)");
    }
    std::uint64_t total_examined = 0, total_reencrypted = 0;
    for (const std::string& column : Transaction::encrypted_columns()) {
      std::int64_t after = std::numeric_limits<std::int64_t>::min();
      std::uint64_t examined = 0, reencrypted = 0;
      for (;;) {
        const DatastoreKeyRotationBatch batch =
            datastore->run_tx("rotate_datastore_keys", [&](Transaction& tx) {
              return tx.rotate_datastore_key_batch(column, after, batch_size);
            });
        examined += batch.examined;
        reencrypted += batch.reencrypted;
        if (!batch.last_row) break;
        after = *batch.last_row;
        out << "  " << column << ": " << examined << " values, " << reencrypted
            << " re-encrypted so far" << std::endl;
      }
      out << column << ": " << examined << " values, " << reencrypted << " re-encrypted"
          << std::endl;
      total_examined += examined;
      total_reencrypted += reencrypted;
    }
    out << "done: " << total_reencrypted << " of " << total_examined
        << " secrets re-encrypted; every secret is now under the first key of DATASTORE_KEYS. "
           "Once every component runs with that key first, the other keys can be dropped "
           "from DATASTORE_KEYS."
        << std::endl;
    return 0;
  });
}

}  // namespace janus::cli
