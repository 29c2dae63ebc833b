// RFC 9180 Appendix A base-mode vectors, parsed from specs/rfc9180-hpke.md at
// run time, plus round trips and tamper checks for every supported suite.
#include "janus/hpke.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

namespace janus {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = hex_decode(text);
  if (!bytes) throw std::invalid_argument("bad hex: " + std::string(text));
  return *bytes;
}

// ---- RFC 9180 Appendix A parser ---------------------------------------------

using Fields = std::map<std::string, std::string>;

struct RfcVector {
  std::string title;  // "## ..." heading: the suite
  Fields setup;
  std::vector<Fields> encryptions;
  std::vector<Fields> exports;
};

// Reads every "### Base Setup Information" block (mode 0) with its
// "#### Encryptions" and "#### Exported Values" blocks. Values may continue
// on the following lines (hex wrapped at 64 columns).
std::vector<RfcVector> parse_rfc9180_base_vectors() {
  std::ifstream in(JANUS_SHARED_DIR "/specs/rfc9180-hpke.md");
  if (!in) throw std::runtime_error("cannot open rfc9180-hpke.md");
  std::vector<RfcVector> vectors;
  std::string line, suite_title, subsection, subsubsection;
  bool in_block = false;
  bool seen_test_vectors = false;
  std::vector<Fields>* records = nullptr;
  Fields* current = nullptr;
  std::string last_key;
  const std::regex field_re(R"(^([A-Za-z_][A-Za-z_ ]*):\s*(.*)$)");
  while (std::getline(in, line)) {
    if (line == "# Test Vectors") seen_test_vectors = true;
    if (!seen_test_vectors) continue;
    if (line.starts_with("~~~")) {
      in_block = !in_block;
      if (in_block) {
        records = nullptr;
        current = nullptr;
        if (subsection == "Base Setup Information") {
          if (subsubsection.empty()) {
            vectors.push_back({suite_title, {}, {}, {}});
            current = &vectors.back().setup;
          } else if (subsubsection == "Encryptions") {
            records = &vectors.back().encryptions;
          } else if (subsubsection == "Exported Values") {
            records = &vectors.back().exports;
          }
        }
      }
      continue;
    }
    if (!in_block) {
      if (line.starts_with("#### "))
        subsubsection = line.substr(5);
      else if (line.starts_with("### "))
        subsection = line.substr(4), subsubsection.clear();
      else if (line.starts_with("## "))
        suite_title = line.substr(3), subsection.clear(), subsubsection.clear();
      continue;
    }
    if (records == nullptr && current == nullptr) continue;
    if (line.empty()) {
      if (records != nullptr) current = nullptr;
      continue;
    }
    std::smatch m;
    if (std::regex_match(line, m, field_re)) {
      if (records != nullptr && current == nullptr) {
        records->emplace_back();
        current = &records->back();
      }
      last_key = m[1];
      if (current->contains(last_key)) throw std::runtime_error("duplicate field " + last_key);
      (*current)[last_key] = m[2];
    } else {
      if (current == nullptr || last_key.empty()) throw std::runtime_error("stray line: " + line);
      (*current)[last_key] += line;  // continuation of a wrapped hex value
    }
  }
  return vectors;
}

// Fields are consumed as they are checked; anything left at the end was not
// checked and fails the test.
class FieldReader {
 public:
  explicit FieldReader(Fields fields) : fields_(std::move(fields)) {}
  std::string text(const std::string& key) {
    auto it = fields_.find(key);
    if (it == fields_.end()) throw std::runtime_error("missing field " + key);
    std::string value = it->second;
    fields_.erase(it);
    return value;
  }
  Bytes bytes(const std::string& key) { return hex(text(key)); }
  std::uint64_t number(const std::string& key) { return std::stoull(text(key)); }
  void expect_all_read() const {
    for (const auto& [key, value] : fields_) ADD_FAILURE() << "vector field not checked: " << key;
  }

 private:
  Fields fields_;
};

bool kem_implemented(std::uint64_t kem) { return kem == 0x10 || kem == 0x20; }

TEST(HpkeRfc9180, EveryBaseModeVectorOfAnImplementedSuitePasses) {
  const auto vectors = parse_rfc9180_base_vectors();
  ASSERT_EQ(vectors.size(), 7u) << "RFC 9180 Appendix A has 7 suites";
  int passed = 0;
  std::vector<std::string> skipped;
  for (const auto& vector : vectors) {
    SCOPED_TRACE(vector.title);
    FieldReader setup(vector.setup);
    ASSERT_EQ(setup.number("mode"), 0u);
    const std::uint64_t kem_id = setup.number("kem_id");
    const HpkeSuite suite{static_cast<HpkeKemId>(kem_id),
                          static_cast<HpkeKdfId>(setup.number("kdf_id")),
                          static_cast<HpkeAeadId>(setup.number("aead_id"))};
    if (!kem_implemented(kem_id)) {
      skipped.push_back(vector.title);
      continue;
    }
    const Bytes info = setup.bytes("info");

    const HpkeKeyPair ephemeral = HpkeKeyPair::derive(suite.kem, setup.bytes("ikmE"));
    EXPECT_EQ(hex_encode(ephemeral.private_key()), hex_encode(setup.bytes("skEm")));
    EXPECT_EQ(hex_encode(ephemeral.public_key()), hex_encode(setup.bytes("pkEm")));
    const HpkeKeyPair recipient = HpkeKeyPair::derive(suite.kem, setup.bytes("ikmR"));
    const Bytes skRm = setup.bytes("skRm");
    const Bytes pkRm = setup.bytes("pkRm");
    EXPECT_EQ(hex_encode(recipient.private_key()), hex_encode(skRm));
    EXPECT_EQ(hex_encode(recipient.public_key()), hex_encode(pkRm));
    // Key serialization round trip.
    EXPECT_EQ(HpkeKeyPair::from_private_key(suite.kem, skRm).public_key(), pkRm);

    auto [enc, sender] = HpkeContext::setup_base_sender(suite, pkRm, info, &ephemeral);
    HpkeContext receiver = HpkeContext::setup_base_receiver(suite, recipient, enc, info);
    EXPECT_EQ(hex_encode(enc), hex_encode(setup.bytes("enc")));
    const Bytes shared_secret = setup.bytes("shared_secret");
    const Bytes key_schedule_context = setup.bytes("key_schedule_context");
    const Bytes secret = setup.bytes("secret");
    const Bytes key = setup.bytes("key");
    const Bytes base_nonce = setup.bytes("base_nonce");
    const Bytes exporter_secret = setup.bytes("exporter_secret");
    for (const HpkeContext* context : {&sender, &receiver}) {
      EXPECT_EQ(hex_encode(context->shared_secret()), hex_encode(shared_secret));
      EXPECT_EQ(hex_encode(context->key_schedule_context()), hex_encode(key_schedule_context));
      EXPECT_EQ(hex_encode(context->secret()), hex_encode(secret));
      EXPECT_EQ(hex_encode(context->key()), hex_encode(key));
      EXPECT_EQ(hex_encode(context->base_nonce()), hex_encode(base_nonce));
      EXPECT_EQ(hex_encode(context->exporter_secret()), hex_encode(exporter_secret));
    }
    setup.expect_all_read();

    if (suite.aead == kHpkeAeadExportOnly) {
      EXPECT_TRUE(vector.encryptions.empty());
      EXPECT_THROW(sender.seal({}, as_bytes("x")), HpkeError);
    } else {
      ASSERT_FALSE(vector.encryptions.empty());
    }
    for (const auto& fields : vector.encryptions) {
      FieldReader encryption(fields);
      const std::uint64_t sequence = encryption.number("sequence number");
      SCOPED_TRACE("sequence " + std::to_string(sequence));
      // Move both contexts to this sequence number (the vectors skip some).
      while (sender.sequence_number() < sequence) sender.seal({}, {});
      while (receiver.sequence_number() < sequence) receiver.seal({}, {});
      ASSERT_EQ(sender.sequence_number(), sequence);
      const Bytes nonce = encryption.bytes("nonce");
      EXPECT_EQ(hex_encode(sender.current_nonce()), hex_encode(nonce));
      EXPECT_EQ(hex_encode(receiver.current_nonce()), hex_encode(nonce));
      const Bytes pt = encryption.bytes("pt");
      const Bytes aad = encryption.bytes("aad");
      const Bytes ct = encryption.bytes("ct");
      EXPECT_EQ(hex_encode(sender.seal(aad, pt)), hex_encode(ct));
      EXPECT_EQ(hex_encode(receiver.open(aad, ct)), hex_encode(pt));
      encryption.expect_all_read();
    }
    ASSERT_FALSE(vector.exports.empty());
    for (const auto& fields : vector.exports) {
      FieldReader exported(fields);
      const Bytes context = exported.bytes("exporter_context");
      const std::size_t length = exported.number("L");
      const Bytes value = exported.bytes("exported_value");
      EXPECT_EQ(hex_encode(sender.export_secret(context, length)), hex_encode(value));
      EXPECT_EQ(hex_encode(receiver.export_secret(context, length)), hex_encode(value));
      exported.expect_all_read();
    }
    // The single-shot API opens the first encryption.
    if (suite.aead != kHpkeAeadExportOnly) {
      FieldReader first(vector.encryptions.front());
      ASSERT_EQ(first.number("sequence number"), 0u);
      EXPECT_EQ(hpke_open(suite, recipient, enc, info, first.bytes("aad"), first.bytes("ct")),
                first.bytes("pt"));
    }
    ++passed;
  }
  // X25519 × {AES-128-GCM, ChaCha20Poly1305, export-only}, P-256 × {SHA256
  // AES-128-GCM, SHA512 AES-128-GCM, SHA256 ChaCha20Poly1305}.
  EXPECT_EQ(passed, 6);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0], "DHKEM(P-521, HKDF-SHA512), HKDF-SHA512, AES-256-GCM");
}

// ---- Round trips and failures for every supported suite --------------------

std::vector<HpkeSuite> all_supported_suites() {
  std::vector<HpkeSuite> suites;
  for (HpkeKemId kem : {HpkeKemId::X25519HkdfSha256, HpkeKemId::P256HkdfSha256})
    for (HpkeKdfId kdf : {HpkeKdfId::HkdfSha256, HpkeKdfId::HkdfSha384, HpkeKdfId::HkdfSha512})
      for (HpkeAeadId aead :
           {HpkeAeadId::Aes128Gcm, HpkeAeadId::Aes256Gcm, HpkeAeadId::ChaCha20Poly1305})
        suites.push_back({kem, kdf, aead});
  return suites;
}

TEST(Hpke, SealOpenRoundTripForEverySuite) {
  for (const HpkeSuite& suite : all_supported_suites()) {
    SCOPED_TRACE(::testing::Message()
                 << std::hex << static_cast<int>(suite.kem) << "/" << static_cast<int>(suite.kdf)
                 << "/" << static_cast<int>(suite.aead));
    ASSERT_TRUE(hpke_suite_supported(suite));
    const HpkeKeyPair recipient = HpkeKeyPair::generate(suite.kem);
    const Bytes info = to_bytes("info"), aad = to_bytes("aad"), pt = to_bytes("a plaintext");
    HpkeSealed sealed = hpke_seal(suite, recipient.public_key(), info, aad, pt);
    EXPECT_EQ(sealed.ciphertext.size(), pt.size() + 16);
    EXPECT_EQ(hpke_open(suite, recipient, sealed.enc, info, aad, sealed.ciphertext), pt);
    // Reloaded from its serialized private key, the key pair still opens.
    const HpkeKeyPair reloaded = HpkeKeyPair::from_private_key(suite.kem, recipient.private_key());
    EXPECT_EQ(reloaded.public_key(), recipient.public_key());
    EXPECT_EQ(hpke_open(suite, reloaded, sealed.enc, info, aad, sealed.ciphertext), pt);
    // Another key, another info or another AAD fail.
    const HpkeKeyPair other = HpkeKeyPair::generate(suite.kem);
    EXPECT_THROW(hpke_open(suite, other, sealed.enc, info, aad, sealed.ciphertext), HpkeError);
    EXPECT_THROW(hpke_open(suite, recipient, sealed.enc, to_bytes("other"), aad, sealed.ciphertext),
                 HpkeError);
    EXPECT_THROW(
        hpke_open(suite, recipient, sealed.enc, info, to_bytes("other"), sealed.ciphertext),
        HpkeError);
    // Empty plaintext is fine; a ciphertext shorter than the tag is not.
    HpkeSealed empty = hpke_seal(suite, recipient.public_key(), info, {}, {});
    EXPECT_EQ(hpke_open(suite, recipient, empty.enc, info, {}, empty.ciphertext), Bytes{});
    EXPECT_THROW(
        hpke_open(suite, recipient, empty.enc, info, {}, ByteSpan(empty.ciphertext).first(15)),
        HpkeError);
  }
}

TEST(Hpke, BadKeysAndEncodingsAreRejected) {
  const HpkeSuite x25519 = kDapMandatorySuite;
  const HpkeSuite p256{HpkeKemId::P256HkdfSha256, HpkeKdfId::HkdfSha256, HpkeAeadId::Aes128Gcm};
  // Wrong lengths.
  EXPECT_THROW(HpkeKeyPair::from_private_key(HpkeKemId::X25519HkdfSha256, Bytes(31, 1)), HpkeError);
  EXPECT_THROW(hpke_seal(x25519, Bytes(31, 1), {}, {}, {}), HpkeError);
  EXPECT_THROW(hpke_seal(p256, Bytes(33, 2), {}, {}, {}), HpkeError);
  // P-256 scalar 0 and n are out of range.
  EXPECT_THROW(HpkeKeyPair::from_private_key(HpkeKemId::P256HkdfSha256, Bytes(32, 0)), HpkeError);
  EXPECT_THROW(HpkeKeyPair::from_private_key(
                   HpkeKemId::P256HkdfSha256,
                   hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")),
               HpkeError);
  // A P-256 point off the curve, and a compressed point.
  Bytes off_curve(65, 0);
  off_curve[0] = 0x04;
  off_curve[64] = 1;
  EXPECT_THROW(hpke_seal(p256, off_curve, {}, {}, {}), HpkeError);
  const HpkeKeyPair p256_key = HpkeKeyPair::generate(HpkeKemId::P256HkdfSha256);
  Bytes compressed = p256_key.public_key();
  compressed[0] = 0x02;
  EXPECT_THROW(hpke_seal(p256, compressed, {}, {}, {}), HpkeError);
  // An X25519 small-order point (all zeros) gives an all-zero DH: rejected.
  const HpkeKeyPair x_key = HpkeKeyPair::generate(HpkeKemId::X25519HkdfSha256);
  EXPECT_THROW(hpke_open(x25519, x_key, Bytes(32, 0), {}, {}, Bytes(16, 0)), HpkeError);
  EXPECT_THROW(hpke_seal(x25519, Bytes(32, 0), {}, {}, {}), HpkeError);
  // A key pair whose public key does not match.
  EXPECT_THROW(
      HpkeKeyPair::from_keys(HpkeKemId::X25519HkdfSha256, x_key.private_key(), Bytes(32, 9)),
      HpkeError);
  EXPECT_NO_THROW(
      HpkeKeyPair::from_keys(HpkeKemId::X25519HkdfSha256, x_key.private_key(), x_key.public_key()));
  // A key for one KEM used with another.
  EXPECT_THROW(hpke_open(p256, x_key, p256_key.public_key(), {}, {}, Bytes(16, 0)), HpkeError);
  // Unsupported algorithms.
  EXPECT_FALSE(hpke_suite_supported(
      {static_cast<HpkeKemId>(0x12), HpkeKdfId::HkdfSha512, HpkeAeadId::Aes256Gcm}));
  EXPECT_FALSE(hpke_suite_supported(
      {HpkeKemId::X25519HkdfSha256, HpkeKdfId::HkdfSha256, kHpkeAeadExportOnly}));
  EXPECT_THROW(HpkeKeyPair::generate(static_cast<HpkeKemId>(0x9999)), HpkeError);
  EXPECT_THROW(
      hpke_seal({HpkeKemId::X25519HkdfSha256, static_cast<HpkeKdfId>(9), HpkeAeadId::Aes128Gcm},
                x_key.public_key(), {}, {}, {}),
      HpkeError);
}

TEST(Hpke, GeneratedKeysDiffer) {
  EXPECT_NE(HpkeKeyPair::generate(HpkeKemId::X25519HkdfSha256).private_key(),
            HpkeKeyPair::generate(HpkeKemId::X25519HkdfSha256).private_key());
  const HpkeSealed a =
      hpke_seal(kDapMandatorySuite, HpkeKeyPair::generate(HpkeKemId::X25519HkdfSha256).public_key(),
                {}, {}, as_bytes("same"));
  EXPECT_EQ(a.enc.size(), 32u);
}

TEST(Hpke, OneKeyPairOpensFromManyThreads) {
  // The upload handler shares one parsed key across worker threads.
  const DapHpkeKeyPair key_pair = DapHpkeKeyPair::generate(1);
  const Bytes info = dap_input_share_info(Role::Leader);
  std::vector<HpkeCiphertext> ciphertexts;
  for (int i = 0; i < 32; ++i)
    ciphertexts.push_back(
        dap_seal(key_pair.config, info, as_bytes("aad"), Bytes(40, static_cast<std::uint8_t>(i))));
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 8; ++round)
        for (std::size_t i = 0; i < ciphertexts.size(); ++i)
          if (dap_open(key_pair, ciphertexts[i], info, as_bytes("aad")) ==
              Bytes(40, static_cast<std::uint8_t>(i)))
            ++opened;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(opened.load(), 4 * 8 * 32);
}

// ---- DAP helpers ------------------------------------------------------------------

TEST(DapHpke, InfoStrings) {
  // DAP-09 §4.4.2 / §4.6 (values from reference/dap09-vdaf08-notes.md §2).
  EXPECT_EQ(hex_encode(dap_input_share_info(Role::Leader)),
            "6461702d303920696e7075742073686172650102");
  EXPECT_EQ(hex_encode(dap_input_share_info(Role::Helper)),
            "6461702d303920696e7075742073686172650103");
  EXPECT_EQ(hex_encode(dap_aggregate_share_info(Role::Leader)),
            "6461702d3039206167677265676174652073686172650200");
  EXPECT_EQ(hex_encode(dap_aggregate_share_info(Role::Helper)),
            "6461702d3039206167677265676174652073686172650300");
}

TEST(DapHpke, AggregateShareSealOpen) {
  const DapHpkeKeyPair collector = DapHpkeKeyPair::generate(7);
  EXPECT_EQ(collector.config.id, 7);
  EXPECT_EQ(suite_of(collector.config), kDapMandatorySuite);
  AggregateShareAad aad{TaskId::random(), {}, BatchSelector::time_interval({3600, 7200})};
  const Bytes aad_bytes = encode_message(aad);
  const Bytes share = to_bytes("aggregate share");
  HpkeCiphertext ct =
      dap_seal(collector.config, dap_aggregate_share_info(Role::Helper), aad_bytes, share);
  EXPECT_EQ(ct.config_id, 7);
  EXPECT_EQ(dap_open(collector, ct, dap_aggregate_share_info(Role::Helper), aad_bytes), share);
  // The leader's info string does not open the helper's share.
  EXPECT_THROW(dap_open(collector, ct, dap_aggregate_share_info(Role::Leader), aad_bytes),
               HpkeError);
  // A config id mismatch is refused before decrypting.
  HpkeCiphertext wrong_id = ct;
  wrong_id.config_id = 8;
  EXPECT_THROW(dap_open(collector, wrong_id, dap_aggregate_share_info(Role::Helper), aad_bytes),
               HpkeError);
  // Reload from storage.
  const DapHpkeKeyPair reloaded =
      DapHpkeKeyPair::from_config(collector.config, collector.key_pair.private_key());
  EXPECT_EQ(dap_open(reloaded, ct, dap_aggregate_share_info(Role::Helper), aad_bytes), share);
  HpkeConfig mismatched = collector.config;
  mismatched.public_key[0] ^= 1;
  EXPECT_THROW(DapHpkeKeyPair::from_config(mismatched, collector.key_pair.private_key()),
               HpkeError);
}

}  // namespace
}  // namespace janus
