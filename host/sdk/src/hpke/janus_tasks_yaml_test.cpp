// The HPKE keys in Janus 0.7's sample tasks.yaml
// (reference/janus-0.7-samples/tasks.yaml) load: names map to ids, the
// base64url private key matches its public key, and the pair seals/opens.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "janus/hpke.h"

namespace janus {
namespace {

HpkeConfig config_from_yaml(const YAML::Node& node) {
  HpkeConfig config;
  config.id = static_cast<HpkeConfigId>(node["id"].as<int>());
  auto kem = parse_hpke_kem_id(node["kem_id"].as<std::string>());
  auto kdf = parse_hpke_kdf_id(node["kdf_id"].as<std::string>());
  auto aead = parse_hpke_aead_id(node["aead_id"].as<std::string>());
  auto public_key = base64url_decode(node["public_key"].as<std::string>());
  if (!kem || !kdf || !aead || !public_key)
    throw std::runtime_error("bad HPKE config in tasks.yaml");
  config.kem_id = *kem;
  config.kdf_id = *kdf;
  config.aead_id = *aead;
  config.public_key = *public_key;
  EXPECT_EQ(hpke_kem_id_name(config.kem_id), node["kem_id"].as<std::string>());
  EXPECT_EQ(hpke_kdf_id_name(config.kdf_id), node["kdf_id"].as<std::string>());
  EXPECT_EQ(hpke_aead_id_name(config.aead_id), node["aead_id"].as<std::string>());
  return config;
}

TEST(JanusTasksYaml, SampleHpkeKeysLoadAndWork) {
  const YAML::Node tasks =
      YAML::LoadFile(JANUS_SHARED_DIR "/reference/janus-0.7-samples/tasks.yaml");
  std::size_t key_pairs = 0, collector_configs = 0;
  for (const auto& task : tasks) {
    const HpkeConfig collector = config_from_yaml(task["collector_hpke_config"]);
    EXPECT_TRUE(hpke_suite_supported(suite_of(collector)));
    EXPECT_EQ(collector.public_key.size(), 32u);
    ++collector_configs;
    for (const auto& entry : task["hpke_keys"]) {
      const HpkeConfig config = config_from_yaml(entry["config"]);
      auto private_key = base64url_decode(entry["private_key"].as<std::string>());
      ASSERT_TRUE(private_key);
      const DapHpkeKeyPair key_pair = DapHpkeKeyPair::from_config(config, *private_key);
      const Bytes info = dap_input_share_info(Role::Leader);
      const HpkeCiphertext ct = dap_seal(config, info, as_bytes("aad"), as_bytes("share"));
      EXPECT_EQ(dap_open(key_pair, ct, info, as_bytes("aad")), to_bytes("share"));
      ++key_pairs;
    }
  }
  EXPECT_EQ(collector_configs, 2u);
  EXPECT_EQ(key_pairs, 2u);
}

TEST(HpkeIdNames, UnknownNamesAndIds) {
  EXPECT_EQ(parse_hpke_kem_id("X448HkdfSha512"), std::nullopt);
  EXPECT_EQ(parse_hpke_aead_id("aes128gcm"), std::nullopt);
  EXPECT_EQ(hpke_kem_id_name(static_cast<HpkeKemId>(0x9999)), "");
  EXPECT_EQ(parse_hpke_kdf_id("HkdfSha384"), HpkeKdfId::HkdfSha384);
  EXPECT_EQ(parse_hpke_aead_id("ChaCha20Poly1305"), HpkeAeadId::ChaCha20Poly1305);
  EXPECT_EQ(parse_hpke_kem_id("P256HkdfSha256"), HpkeKemId::P256HkdfSha256);
}

}  // namespace
}  // namespace janus
