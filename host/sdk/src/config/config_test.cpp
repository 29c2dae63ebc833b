#include "janus/config.h"

#include <fstream>

#include <gtest/gtest.h>

namespace janus {
namespace {

ConfigMap parse(const std::string& text) { return ConfigMap(YAML::Load(text), "test.yaml"); }

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ConfigMap, ReadsTypedValuesAndDefaults) {
  auto map = parse("name: abc\ncount: 42\nflag: true\nratio: 1.25\nlist: [a, b]\nnothing: null\n");
  EXPECT_EQ(map.required<std::string>("name"), "abc");
  EXPECT_EQ(map.required<std::uint64_t>("count"), 42u);
  EXPECT_TRUE(map.required<bool>("flag"));
  EXPECT_DOUBLE_EQ(map.required<double>("ratio"), 1.25);
  EXPECT_EQ(map.required<std::vector<std::string>>("list"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(map.optional<std::uint32_t>("nothing").has_value());
  EXPECT_EQ(map.get<std::uint32_t>("absent", 7), 7u);
  EXPECT_NO_THROW(map.finish());
}

TEST(ConfigMap, UnknownKeyNamesFileKeyAndLine) {
  auto map = parse("known: 1\nsection:\n  inner: 2\n  typo_key: 3\n");
  map.required<std::uint64_t>("known");
  auto section = map.section("section");
  section.required<std::uint64_t>("inner");
  EXPECT_NO_THROW(map.finish());
  EXPECT_EQ(error_of([&] { section.finish(); }), "test.yaml:4: unknown key 'section.typo_key'");
}

TEST(ConfigMap, TopLevelUnknownKey) {
  auto map = parse("a: 1\nb: 2\n");
  map.accept("a");
  EXPECT_EQ(error_of([&] { map.finish(); }), "test.yaml:2: unknown key 'b'");
  EXPECT_EQ(map.unread_keys(), std::vector<std::string>{"b"});
}

TEST(ConfigMap, WrongTypesAreErrorsWithLine) {
  auto map = parse("n: abc\nneg: -1\nbig: 99999999999\nb: yes\nq: \"12\"\nm: {x: 1}\n");
  EXPECT_EQ(error_of([&] { map.required<std::uint64_t>("n"); }),
            "test.yaml:1: key 'n': expected an unsigned 64-bit integer, found 'abc'");
  EXPECT_EQ(error_of([&] { map.required<std::uint64_t>("neg"); }),
            "test.yaml:2: key 'neg': expected an unsigned 64-bit integer, found '-1'");
  EXPECT_EQ(error_of([&] { map.required<std::uint32_t>("big"); }),
            "test.yaml:3: key 'big': 99999999999 is out of range for an unsigned 32-bit integer");
  EXPECT_EQ(error_of([&] { map.required<bool>("b"); }),
            "test.yaml:4: key 'b': expected true or false, found 'yes'");
  EXPECT_EQ(error_of([&] { map.required<std::uint64_t>("q"); }),
            "test.yaml:5: key 'q': expected an unsigned 64-bit integer, found '12'");
  EXPECT_EQ(error_of([&] { map.required<std::string>("m"); }),
            "test.yaml:6: key 'm': expected a string, found a mapping");
  EXPECT_EQ(error_of([&] { map.section("n"); }),
            "test.yaml:1: key 'n': expected a mapping, found a scalar");
}

TEST(ConfigMap, DuplicateKeysAreErrors) {
  EXPECT_EQ(error_of([] { parse("a: 1\nb: 2\na: 3\n"); }), "test.yaml:3: duplicate key 'a'");
  auto map = parse("s:\n  x: 1\n  x: 2\n");
  EXPECT_EQ(error_of([&] { map.section("s"); }), "test.yaml:3: duplicate key 's.x'");
}

TEST(ConfigMap, MissingRequiredKey) {
  auto map = parse("a: 1\n");
  EXPECT_EQ(error_of([&] { map.required<std::string>("url"); }),
            "test.yaml:1: missing required key 'url'");
  auto empty = ConfigMap(YAML::Node(), "f.yaml", "database");
  EXPECT_EQ(error_of([&] { empty.required<std::string>("url"); }),
            "f.yaml: missing required key 'database.url'");
}

TEST(ConfigMap, MisspelledRequiredKeyIsNamedAsUnknown) {
  // The misspelled key is on line 3; the required key it resembles is then missing.
  auto map =
      parse("listen_address: x\nmax_upload_batch_size: 1\nmax_upload_batch_write_delay_mss: 2\n");
  map.required<std::string>("listen_address");
  map.required<std::uint64_t>("max_upload_batch_size");
  EXPECT_EQ(error_of([&] { map.required<std::uint64_t>("max_upload_batch_write_delay_ms"); }),
            "test.yaml:3: unknown key 'max_upload_batch_write_delay_mss' (did you mean "
            "'max_upload_batch_write_delay_ms'?)");
  // In a section, both keys carry the section's path.
  auto outer = parse("database:\n  utl: postgres://x\n");
  auto database = outer.section("database");
  EXPECT_EQ(error_of([&] { database.required<std::string>("url"); }),
            "test.yaml:2: unknown key 'database.utl' (did you mean 'database.url'?)");
  // A key unlike the missing one is not blamed: it may be read later.
  auto other = parse("something_else: 1\n");
  EXPECT_EQ(error_of([&] { other.required<std::string>("url"); }),
            "test.yaml:1: missing required key 'url'");
}

TEST(ConfigMap, UnknownKeySuggestsTheClosestAbsentKnownKey) {
  auto map = parse("listen_address: x\nbatch_agregation_shard_count: 4\n");
  map.required<std::string>("listen_address");
  map.get<std::uint64_t>("batch_aggregation_shard_count", 1);
  map.get<std::uint64_t>("tasks_update_frequency_s", 1);
  EXPECT_EQ(error_of([&] { map.finish(); }),
            "test.yaml:2: unknown key 'batch_agregation_shard_count' (did you mean "
            "'batch_aggregation_shard_count'?)");
  // A key that is present is not suggested for another one, and nothing far away is.
  auto present = parse("url: a\nurls: b\nzzz: c\n");
  present.required<std::string>("url");
  EXPECT_EQ(error_of([&] { present.finish(); }), "test.yaml:2: unknown key 'urls'");
  auto far = parse("zzz: c\n");
  far.optional<std::string>("url");
  EXPECT_EQ(error_of([&] { far.finish(); }), "test.yaml:1: unknown key 'zzz'");
}

TEST(ConfigMap, UnimplementedKeysWarnOnlyWhenSet) {
  auto map = parse("off: false\nempty: {}\non: true\nthing: {a: 1}\n");
  std::vector<std::string> warnings;
  auto sink = [&](const std::string& message) { warnings.push_back(message); };
  for (const char* key : {"off", "empty", "on", "thing", "absent"}) map.unimplemented(key, sink);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("test.yaml:3: key 'on'"), std::string::npos);
  EXPECT_NE(warnings[1].find("test.yaml:4: key 'thing'"), std::string::npos);
  EXPECT_NO_THROW(map.finish());
}

TEST(LoadYamlFile, MissingFileAndSyntaxError) {
  EXPECT_NE(error_of([] {
              load_yaml_file("/nonexistent/x.yaml");
            }).find("/nonexistent/x.yaml: cannot read config file"),
            std::string::npos);
  std::string path = ::testing::TempDir() + "/bad.yaml";
  {
    std::ofstream out(path);
    out << "a: 1\nb: [unclosed\n";
  }
  std::string error = error_of([&] { load_yaml_file(path); });
  EXPECT_NE(error.find(path + ":"), std::string::npos) << error;
  EXPECT_NE(error.find("YAML syntax error"), std::string::npos) << error;
}

}  // namespace
}  // namespace janus
